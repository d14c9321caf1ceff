/**
 * Magnet links (BEP 9): `xt=urn:btih:` (40 hex or 32 base32 digits), `urn:btmh:` (BEP 52
 * multihash), `dn`, `tr`, `x.pe` peers, `ws` web seeds (BEP 19) and `so` file selection (BEP 53).
 *
 * Liberal in what it accepts, as libtorrent and Transmission are with links found in the wild:
 * surrounding whitespace, any letter case in the scheme and keys, the `magnet://?` and
 * `magnet:///?` forms and a trailing `#fragment` are fine. Only a missing or invalid `xt`
 * refuses the link; a bad optional parameter (a `tr` with a bad port, garbage in `so`, `x.pe`
 * or `xl`, an undecodable `dn`) is dropped or kept raw, and the rest of the link is used.
 * Every percent-decode is guarded: `decodeURIComponent` throws on `%ZZ` and on invalid UTF-8.
 */
import { fromHex, toHex } from '../util/bytes.js';
import { cleanTrackerUrl, cleanWebSeedUrl } from './announce.js';
import { MetainfoError, quote } from './errors.js';
import { loadTorrentFile } from './torrent.js';
import type { MagnetLink, Metainfo, PeerAddress } from './types.js';

/** The one bound on a link: it also bounds the number of parameters (at most one per 2 bytes). */
export const MAX_MAGNET_LENGTH = 64 * 1024;
const MAX_TRACKERS = 100;
const MAX_PEERS = 200;
const MAX_WEB_SEEDS = 100;
/** BEP 53 ranges are expanded, so the number of selected indices is bounded. */
export const MAX_SELECTED = 10_000;
const MAX_FILE_INDEX = 1_000_000;

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** `magnet:?`, `magnet://?` and `magnet:///?`, in any case. */
const PREFIX = /^magnet:(?:\/\/\/?)?\?/i;

function bad(message: string): never {
  throw new MetainfoError('magnet', `invalid magnet link: ${message}`);
}

/** The decoded text, or undefined for a bad escape or invalid UTF-8. */
function percentDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** RFC 4648 base32 (no padding), as BEP 9 allows for the 32-character info hash form. */
function base32Decode(s: string): Uint8Array | undefined {
  const out = new Uint8Array(Math.floor((s.length * 5) / 8));
  let bits = 0;
  let value = 0;
  let o = 0;
  for (const ch of s.toUpperCase()) {
    const v = BASE32.indexOf(ch);
    if (v < 0) return undefined;
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out[o++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  return out;
}

function parseBtih(v: string): Uint8Array {
  if (/^[0-9a-f]{40}$/i.test(v)) return fromHex(v);
  if (v.length === 32) {
    const bytes = base32Decode(v);
    if (bytes !== undefined) return bytes;
  }
  return bad(`info hash ${quote(v)} is neither 40 hex nor 32 base32 digits`);
}

/** BEP 52 multihash: 0x12 (sha2-256), 0x20 (32 bytes), then the digest. */
function parseBtmh(v: string): string {
  if (!/^1220[0-9a-f]{64}$/i.test(v)) bad(`multihash ${quote(v)} is not a sha2-256 multihash (1220 + 64 hex)`);
  return v.toLowerCase();
}

/** `host:port` or `[v6]:port`. */
export function parsePeer(v: string): PeerAddress | undefined {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(v) ?? /^([^:[\]\s]+):(\d{1,5})$/.exec(v);
  if (m === null) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1]!, port };
}

/**
 * BEP 53 `so=0,2,4-6`: indices and inclusive ranges, added to `into`. An item that is not an
 * index or a valid range is skipped; past `MAX_SELECTED` indices the rest is ignored.
 */
export function parseSelectOnly(v: string, into: Set<number> = new Set()): Set<number> {
  for (const part of v.split(',')) {
    const m = /^\s*(\d{1,7})(?:-(\d{1,7}))?\s*$/.exec(part);
    if (m === null) continue;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from || to > MAX_FILE_INDEX) continue;
    for (let i = from; i <= to && into.size < MAX_SELECTED; i++) into.add(i);
  }
  return into;
}

/** The query part of a link: trimmed, without its fragment, after one of the accepted prefixes. */
function magnetQuery(uri: string): string {
  if (uri.length > MAX_MAGNET_LENGTH) bad(`longer than ${MAX_MAGNET_LENGTH} characters`);
  const s = uri.trim();
  const prefix = PREFIX.exec(s);
  if (prefix === null) bad("it does not start with 'magnet:?'");
  const hash = s.indexOf('#');
  return s.slice(prefix[0].length, hash === -1 ? s.length : hash);
}

/** Parse a magnet URI. Throws MetainfoError with one clear line when `xt` is missing or invalid. */
export function parseMagnet(uri: string): MagnetLink {
  let infoHash: Uint8Array | undefined;
  let btmh: string | undefined;
  let name: string | undefined;
  const select = new Set<number>();
  const trackers = new Set<string>();
  const webSeeds = new Set<string>();
  const peers = new Map<string, PeerAddress>();
  for (const param of magnetQuery(uri).split('&')) {
    if (param === '') continue;
    const eq = param.indexOf('=');
    const key = percentDecode(eq < 0 ? param : param.slice(0, eq))?.trim().toLowerCase();
    const rawValue = eq < 0 ? '' : param.slice(eq + 1);
    // `xt.1`, `tr.2`, ... are the numbered forms of the same parameters.
    const base = key?.replace(/\.\d+$/, '');
    if (base === 'xt') {
      const value = percentDecode(rawValue)?.trim() ?? bad(`bad percent-encoding in xt ${quote(rawValue)}`);
      const lower = value.toLowerCase();
      if (lower.startsWith('urn:btih:')) {
        const hash = parseBtih(value.slice(9));
        if (infoHash !== undefined && toHex(infoHash) !== toHex(hash)) bad('two different btih info hashes');
        infoHash = hash;
      } else if (lower.startsWith('urn:btmh:')) {
        const hash = parseBtmh(value.slice(9));
        if (btmh !== undefined && btmh !== hash) bad('two different btmh info hashes');
        btmh = hash;
      }
      continue;
    }
    if (base === 'dn') {
      // '+' is a space in the form encoding that most magnet producers use for `dn`; a name
      // that does not decode is kept as written.
      const plain = rawValue.replace(/\+/g, ' ');
      name = percentDecode(plain) ?? plain;
      continue;
    }
    const value = percentDecode(rawValue);
    if (value === undefined) continue;
    if (base === 'tr') {
      const url = cleanTrackerUrl(value);
      if (url !== undefined && trackers.size < MAX_TRACKERS) trackers.add(url);
    } else if (base === 'ws') {
      const url = cleanWebSeedUrl(value);
      if (url !== undefined && webSeeds.size < MAX_WEB_SEEDS) webSeeds.add(url);
    } else if (base === 'x.pe') {
      const peer = parsePeer(value.trim());
      if (peer !== undefined && peers.size < MAX_PEERS) peers.set(`${peer.host}|${peer.port}`, peer);
    } else if (base === 'so') {
      parseSelectOnly(value, select);
    }
  }
  if (infoHash === undefined && btmh === undefined) bad("no 'xt=urn:btih:' or 'xt=urn:btmh:' info hash");
  return {
    ...(infoHash === undefined ? {} : { infoHash, infoHashHex: toHex(infoHash) }),
    ...(btmh === undefined ? {} : { btmh, infoHashV2: fromHex(btmh.slice(4)) }),
    ...(name === undefined ? {} : { name }),
    trackers: [...trackers],
    peers: [...peers.values()],
    webSeeds: [...webSeeds],
    ...(select.size > 0 ? { select: [...select].sort((a, b) => a - b) } : {}),
  };
}

/**
 * A magnet link for a parsed torrent: info hash (`urn:btih:` for v1, `urn:btmh:` with the
 * sha2-256 multihash prefix for v2, both for a hybrid), name, every tracker in tier order, web
 * seeds.
 */
export function toMagnet(meta: Metainfo): string {
  const xt: string[] = [];
  if (meta.v2 === undefined || meta.hybrid) xt.push(`xt=urn:btih:${meta.infoHashHex}`);
  if (meta.v2 !== undefined) xt.push(`xt=urn:btmh:1220${meta.v2.infoHashHex}`);
  const parts = [...xt, `dn=${encodeURIComponent(meta.info.name)}`];
  for (const tier of meta.announce) for (const url of tier) parts.push(`tr=${encodeURIComponent(url)}`);
  for (const url of meta.urlList) parts.push(`ws=${encodeURIComponent(url)}`);
  return `magnet:?${parts.join('&')}`;
}

export type TorrentOrMagnet = { kind: 'torrent'; meta: Metainfo } | { kind: 'magnet'; magnet: MagnetLink };

/** Whether a command-line argument is meant as a magnet link (spaces around it allowed). */
export function isMagnet(arg: string): boolean {
  return /^\s*magnet:/i.test(arg);
}

/** What the CLI accepts as "a torrent": a `magnet:` link, or a path to a .torrent file. */
export async function parseTorrentOrMagnet(arg: string): Promise<TorrentOrMagnet> {
  if (isMagnet(arg)) return { kind: 'magnet', magnet: parseMagnet(arg) };
  return { kind: 'torrent', meta: await loadTorrentFile(arg) };
}
