/**
 * The daemon's gatekeeping, as pure checks the HTTP server applies to every request:
 * - the Host header must be an IP literal, `localhost`, or a name on the allow-list: a page
 *   on some other site whose name was re-pointed at 127.0.0.1 (DNS rebinding) is refused;
 * - HTTP basic authentication, compared in constant time;
 * - a folder named by a request must lie inside an allowed root, after resolving `..` and
 *   the symbolic links of every part that exists.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';

/** The host name of a Host header (`name:port`, `[v6]:port`), lower-cased; undefined when malformed. */
export function hostNameOf(header: string | undefined): string | undefined {
  if (header === undefined || header.length === 0 || header.length > 255) return undefined;
  const m = /^\[([0-9a-fA-F:.]+)\](?::\d{1,5})?$/.exec(header) ?? /^([^:[\]\s/@]+)(?::\d{1,5})?$/.exec(header);
  return m === null ? undefined : m[1]!.toLowerCase();
}

/**
 * Whether a request with this Host header may be served. IP literals cannot be re-pointed by
 * DNS, `localhost` resolves locally; any other name must be on the allow-list (`*.example.org`
 * allows every name below example.org).
 */
export function hostAllowed(header: string | undefined, allowList: readonly string[]): boolean {
  const host = hostNameOf(header);
  if (host === undefined) return false;
  const bare = host.endsWith('.') ? host.slice(0, -1) : host;
  if (isIP(bare) !== 0 || bare === 'localhost' || bare.endsWith('.localhost')) return true;
  return allowList.some((entry) => {
    const e = entry.toLowerCase();
    return e.startsWith('*.') ? bare.endsWith(e.slice(1)) : bare === e;
  });
}

/** Whether an address is on the loopback interface. */
export function isLoopback(address: string): boolean {
  const a = address.toLowerCase();
  return a === 'localhost' || a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a) || /^::ffff:127\./.test(a);
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Whether an Authorization header carries exactly this user name and password (Basic scheme). */
export function basicAuthMatches(header: string | undefined, user: string, password: string): boolean {
  const m = header === undefined ? null : /^Basic\s+([A-Za-z0-9+/=]{1,1024})\s*$/i.exec(header);
  const given = m === null ? '' : Buffer.from(m[1]!, 'base64').toString('utf8');
  // Digests of equal length: the comparison takes the same time whatever was sent.
  return timingSafeEqual(digest(given), digest(`${user}:${password}`)) && m !== null;
}

/** The real path of `p`: its longest existing prefix resolved through symbolic links, the rest appended. */
async function realish(p: string): Promise<string> {
  const rest: string[] = [];
  let cur = p;
  for (let i = 0; i < 256; i++) {
    try {
      return path.join(await realpath(cur), ...rest.reverse());
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) break;
      rest.push(path.basename(cur));
      cur = parent;
    }
  }
  return p;
}

/**
 * `dir` resolved, when it lies inside one of `roots` (or is one); undefined otherwise. Relative
 * paths, NUL bytes and over-long names are refused outright.
 */
export async function insideRoots(dir: string, roots: readonly string[]): Promise<string | undefined> {
  if (typeof dir !== 'string' || dir.length === 0 || dir.length > 4096 || dir.includes('\0') || !path.isAbsolute(dir)) return undefined;
  const wanted = await realish(path.resolve(dir));
  for (const root of roots) {
    const r = await realish(path.resolve(root));
    if (wanted === r || wanted.startsWith(r.endsWith(path.sep) ? r : r + path.sep)) return wanted;
  }
  return undefined;
}
