/**
 * HTTP tracker requests and replies (BEP 3, BEP 23, BEP 7, BEP 48) as pure functions: the
 * announce and scrape query strings, and strict decoding of the bencoded replies.
 */
import { isIP } from 'node:net';
import { asBytes, asDict, asInt, asList, asText, decode, type BDict, type BValue } from '../bencode/index.js';
import type { PeerAddress } from '../metainfo/types.js';
import { toHex } from '../util/bytes.js';
import { TrackerError, oneLine } from './errors.js';
import { clampInterval, compactSize, decodeCompactPeers, dedupePeers, normalizeIp, type PeerFamily } from './peers.js';
import type { AnnounceParams, AnnounceResult, ScrapeResult } from './types.js';

/** Tracker replies nest three levels at most (files → hash → counts); allow a little more. */
const MAX_REPLY_DEPTH = 8;
const MAX_REPLY_TOKENS = 100_000;

/** RFC 3986 unreserved characters stay as they are; every other byte becomes %XX. */
export function percentEncodeBytes(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    const unreserved =
      (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e;
    out += unreserved ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function withQuery(base: string, query: string): string {
  const u = new URL(base);
  const hashAt = base.indexOf('#');
  const noFragment = hashAt === -1 ? base : base.slice(0, hashAt);
  return `${noFragment}${u.search === '' ? '?' : '&'}${query}`;
}

/** BEP 3 announce URL; info hash and peer id are raw bytes, percent-encoded one by one. */
export function buildAnnounceUrl(announceUrl: string, p: AnnounceParams): string {
  const q = [
    `info_hash=${percentEncodeBytes(p.infoHash)}`,
    `peer_id=${percentEncodeBytes(p.peerId)}`,
    `port=${p.port}`,
    `uploaded=${Math.max(0, Math.trunc(p.uploaded))}`,
    `downloaded=${Math.max(0, Math.trunc(p.downloaded))}`,
    `left=${Math.max(0, Math.trunc(p.left))}`,
    'compact=1',
  ];
  if (p.event !== undefined) q.push(`event=${p.event}`);
  if (p.numWant !== undefined) q.push(`numwant=${p.numWant}`);
  if (p.key !== undefined) q.push(`key=${(p.key >>> 0).toString(16).padStart(8, '0')}`);
  if (p.trackerId !== undefined) q.push(`trackerid=${percentEncodeBytes(Buffer.from(p.trackerId, 'latin1'))}`);
  // BEP 7. No BEP 3 `ip=`: the tracker takes our source address, which is the external address of
  // that family already, and trackers honour `ip=` only from sources they trust.
  if (p.ipv4 !== undefined && isIP(p.ipv4) === 4) q.push(`ipv4=${p.ipv4}`);
  if (p.ipv6 !== undefined && isIP(p.ipv6) === 6) q.push(`ipv6=${encodeURIComponent(p.ipv6)}`);
  return withQuery(announceUrl, q.join('&'));
}

/**
 * BEP 48: the scrape URL is the announce URL with the `announce` that starts its last path
 * component replaced by `scrape`; without it the tracker does not support scrape.
 */
export function scrapeUrlFor(announceUrl: string): string | undefined {
  let u: URL;
  try {
    u = new URL(announceUrl);
  } catch {
    return undefined;
  }
  const slash = u.pathname.lastIndexOf('/');
  const last = u.pathname.slice(slash + 1);
  if (!last.startsWith('announce')) return undefined;
  u.pathname = `${u.pathname.slice(0, slash + 1)}scrape${last.slice('announce'.length)}`;
  return u.toString();
}

export function buildScrapeUrl(scrapeUrl: string, infoHashes: readonly Uint8Array[]): string {
  return withQuery(scrapeUrl, infoHashes.map((h) => `info_hash=${percentEncodeBytes(h)}`).join('&'));
}

/**
 * Replies are decoded as leniently as .torrent files are (unsorted keys, leading zeros and
 * bytes after the dictionary are tolerated; trackers in the wild append newlines or HTML), and
 * an integer past int64 saturates, so one absurd number never voids the rest of a reply.
 */
function decodeReply(body: Uint8Array): BDict {
  let v: BValue;
  try {
    v = decode(body, { strict: false, saturate: true, maxDepth: MAX_REPLY_DEPTH, maxTokens: MAX_REPLY_TOKENS });
  } catch (err) {
    throw new TrackerError('tracker-protocol', `tracker reply is not valid bencode: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const d = asDict(v);
  if (d === undefined) throw new TrackerError('tracker-protocol', 'tracker reply is not a dictionary');
  const failure = d.get('failure reason');
  if (failure !== undefined) {
    const retryIn = retryInOf(d.get('retry in'));
    throw new TrackerError('tracker-failure', oneLine(asText(failure) ?? 'tracker failure'), retryIn === undefined ? undefined : { retryIn });
  }
  return d;
}

/** An integer as a safe number: one beyond ±2^53 (a bigint) is clamped to that bound. */
function integer(v: BValue | undefined): number | undefined {
  if (typeof v === 'bigint') return v > 0n ? Number.MAX_SAFE_INTEGER : -Number.MAX_SAFE_INTEGER;
  return asInt(v);
}

/** A week: a longer `retry in` is as good as never for one session, but is not a reason to give up. */
const MAX_RETRY_IN_MINUTES = 7 * 24 * 60;

/** BEP 31 `retry in`: an integer of minutes, or the string `never`; anything else is ignored. */
function retryInOf(v: BValue | undefined): number | 'never' | undefined {
  if (v === undefined) return undefined;
  if (asText(v) === 'never') return 'never';
  const n = integer(v);
  return n === undefined || n < 0 ? undefined : Math.min(n, MAX_RETRY_IN_MINUTES);
}

/** A count: negative ones are dropped. */
function count(d: BDict, key: string): number | undefined {
  const n = integer(d.get(key));
  return n !== undefined && n >= 0 ? n : undefined;
}

/** The dictionary form of BEP 3: a list of `{ip, port, peer id}`; only IP literals are kept. */
function dictionaryPeers(list: BValue[]): PeerAddress[] {
  const out: PeerAddress[] = [];
  for (const item of list) {
    const d = asDict(item);
    const ip = d === undefined ? undefined : asText(d.get('ip'));
    const port = d === undefined ? undefined : asInt(d.get('port'));
    if (ip === undefined || port === undefined || port < 1 || port > 65535 || isIP(ip) === 0) continue;
    out.push({ host: normalizeIp(ip), port });
  }
  return out;
}

/** A compact list cut to whole entries: a partial last entry is dropped, as libtorrent and Transmission do. */
function wholeEntries(bytes: Uint8Array, family: PeerFamily): Uint8Array {
  return bytes.subarray(0, bytes.length - (bytes.length % compactSize(family)));
}

export function parseAnnounceBody(body: Uint8Array): AnnounceResult {
  const d = decodeReply(body);
  const peersValue = d.get('peers');
  let peers: PeerAddress[] = [];
  const compact = asBytes(peersValue);
  if (compact !== undefined) peers = decodeCompactPeers(wholeEntries(compact, 4), 4);
  else if (asList(peersValue) !== undefined) peers = dictionaryPeers(asList(peersValue)!);
  else if (peersValue !== undefined) throw new TrackerError('tracker-protocol', 'tracker reply has peers of the wrong type');
  const peers6Value = d.get('peers6');
  if (peers6Value !== undefined) {
    const p6 = asBytes(peers6Value);
    if (p6 === undefined) throw new TrackerError('tracker-protocol', 'tracker reply has peers6 of the wrong type');
    peers = peers.concat(decodeCompactPeers(wholeEntries(p6, 6), 6));
  }
  const minRaw = integer(d.get('min interval'));
  const warning = asText(d.get('warning message'));
  const trackerId = asBytes(d.get('tracker id'));
  const complete = count(d, 'complete');
  const incomplete = count(d, 'incomplete');
  return {
    interval: clampInterval(integer(d.get('interval'))),
    ...(minRaw === undefined ? {} : { minInterval: clampInterval(minRaw) }),
    peers: dedupePeers(peers),
    ...(complete === undefined ? {} : { complete }),
    ...(incomplete === undefined ? {} : { incomplete }),
    ...(warning === undefined ? {} : { warning: oneLine(warning) }),
    ...(trackerId === undefined || trackerId.length > 256 ? {} : { trackerId: Buffer.from(trackerId).toString('latin1') }),
  };
}

/** BEP 48: `files` maps each raw 20-byte info hash to its counts. */
export function parseScrapeBody(body: Uint8Array): ScrapeResult {
  const d = decodeReply(body);
  const files = asDict(d.get('files'));
  if (files === undefined) throw new TrackerError('tracker-protocol', 'scrape reply has no files dictionary');
  const out: ScrapeResult = new Map();
  for (const [key, value] of files) {
    const entry = asDict(value);
    if (key.length !== 20 || entry === undefined) throw new TrackerError('tracker-protocol', 'scrape reply has a malformed entry');
    out.set(toHex(Buffer.from(key, 'latin1')), {
      complete: count(entry, 'complete') ?? 0,
      downloaded: count(entry, 'downloaded') ?? 0,
      incomplete: count(entry, 'incomplete') ?? 0,
    });
  }
  return out;
}

/**
 * Split a raw query string into byte values (the built-in tracker's side). URLSearchParams
 * would decode to UTF-8 text and lose the raw bytes of `info_hash`; this keeps them.
 */
export function parseQueryBytes(search: string): Map<string, Buffer[]> {
  const out = new Map<string, Buffer[]>();
  const s = search.startsWith('?') ? search.slice(1) : search;
  if (s === '') return out;
  for (const part of s.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = percentDecode(eq === -1 ? part : part.slice(0, eq)).toString('latin1');
    const value = percentDecode(eq === -1 ? '' : part.slice(eq + 1));
    const list = out.get(name);
    if (list === undefined) out.set(name, [value]);
    else list.push(value);
  }
  return out;
}

/** Lenient percent-decoding: `+` is a space, a `%` not followed by two hex digits stays literal. */
function percentDecode(s: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c === 0x2b) {
      bytes.push(0x20);
    } else {
      for (const b of Buffer.from(s[i]!, 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes);
}
