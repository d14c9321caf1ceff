/**
 * IP literals to and from their network-order bytes (4 for IPv4, 16 for IPv6). One
 * implementation for every layer that meets compact addresses: the wire (PEX, `yourip`) and
 * the trackers. Returns undefined rather than throwing, so each layer reports bad input with
 * its own typed error.
 */
import { isIPv4 } from 'node:net';

export type IpFamily = 4 | 6;

/** `ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255`. */
const MAX_IPV6_TEXT = 45;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** The family of an IP literal, or undefined for host names, zoned or malformed addresses. */
export function ipFamily(host: string): IpFamily | undefined {
  if (isIPv4(host)) return 4;
  return ipv6Groups(host) === undefined ? undefined : 6;
}

/** The 4 or 16 network-order bytes of an IP literal, or undefined for anything else. */
export function parseIp(host: string): Buffer | undefined {
  if (isIPv4(host)) return Buffer.from(host.split('.').map(Number));
  const groups = ipv6Groups(host);
  if (groups === undefined) return undefined;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** Text of a 4- or 16-byte address (dotted quad, or RFC 5952 compressed IPv6); undefined for other lengths. */
export function formatIp(bytes: Uint8Array): string | undefined {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16) return undefined;
  // RFC 5952 §5: IPv4-mapped addresses keep the dotted quad.
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return `::ffff:${formatIp(bytes.subarray(12))!}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // RFC 5952 §4.2: compress the longest run of two or more zero groups, the first on a tie.
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  return bestAt < 0 ? hex(0, 8) : `${hex(0, bestAt)}::${hex(bestAt + bestLen, 8)}`;
}

/**
 * The eight 16-bit groups of an IPv6 literal in RFC 4291's text forms (hex groups, one `::`
 * for at least one zero group, a dotted IPv4 tail for the last two), or undefined for
 * anything else, zoned addresses included. It accepts exactly what `net.isIPv6` accepts
 * without a zone (a property test holds it to that), read group by group: Node's regular
 * expression for the whole address takes about 10 ms to compile on first use, and every start
 * met it.
 */
function ipv6Groups(s: string): number[] | undefined {
  // The longest form: six full groups and a dotted quad. Text a stranger sent is not split past it.
  if (s.length > MAX_IPV6_TEXT) return undefined;
  const gap = s.indexOf('::');
  if (gap >= 0 && s.indexOf('::', gap + 1) >= 0) return undefined;
  // Without a gap the whole text is one run of groups; with one, the dotted tail may only end the right run.
  const left = groupsOf(gap < 0 ? s : s.slice(0, gap), gap < 0);
  const right = gap < 0 ? [] : groupsOf(s.slice(gap + 2), true);
  if (left === undefined || right === undefined) return undefined;
  const zeros = 8 - left.length - right.length;
  if (gap < 0 ? zeros !== 0 : zeros < 1) return undefined;
  return [...left, ...new Array<number>(zeros).fill(0), ...right];
}

/** `a:b:c` as groups ('' as none), the last item a dotted quad (two groups) when `dotted` allows it. */
function groupsOf(run: string, dotted: boolean): number[] | undefined {
  if (run === '') return [];
  const items = run.split(':');
  const groups: number[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    if (dotted && i === items.length - 1 && item.includes('.')) {
      if (!isIPv4(item)) return undefined;
      const [a, b, c, d] = item.split('.').map(Number);
      groups.push((a! << 8) | b!, (c! << 8) | d!);
    } else if (HEX_GROUP.test(item)) groups.push(parseInt(item, 16));
    else return undefined;
  }
  return groups.length > 8 ? undefined : groups;
}

/** Where an address leads: this host, a private or link-local network, or the internet. */
export type AddressScope = 'loopback' | 'private' | 'link-local' | 'public';

/**
 * The scope of an IP literal (undefined for anything else). `0.0.0.0/8` and `::` count as
 * loopback: connecting to them reaches this host. IPv4-mapped IPv6 has its IPv4 scope.
 */
export function addressScope(host: string): AddressScope | undefined {
  const b = parseIp(host);
  if (b === undefined) return undefined;
  if (b.length === 16) {
    const head = b.subarray(0, 10).every((x) => x === 0);
    if (head && b[10] === 0xff && b[11] === 0xff) return ipv4Scope(b.subarray(12));
    if (head && b[10] === 0 && b[11] === 0 && b[12] === 0 && b[13] === 0 && b[14] === 0 && b[15]! <= 1) return 'loopback';
    if ((b[0]! & 0xfe) === 0xfc) return 'private';
    if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return 'link-local';
    return 'public';
  }
  return ipv4Scope(b);
}

function ipv4Scope(b: Uint8Array): AddressScope {
  const [a, c] = [b[0]!, b[1]!];
  if (a === 127 || a === 0) return 'loopback';
  if (a === 10 || (a === 172 && (c & 0xf0) === 16) || (a === 192 && c === 168) || (a === 100 && (c & 0xc0) === 64)) return 'private';
  if (a === 169 && c === 254) return 'link-local';
  return 'public';
}
