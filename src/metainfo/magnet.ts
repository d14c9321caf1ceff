/**
 * Magnet links (BEP 9): `xt=urn:btih:` (40 hex or 32 base32 digits), `urn:btmh:` (BEP 52
 * multihash), `dn`, `tr`, `x.pe` peers, `ws` web seeds (BEP 19) and `so` file selection (BEP 53).
 * Every percent-decode is guarded: `decodeURIComponent` throws on `%ZZ` and on invalid UTF-8.
 */
import { fromHex, toHex } from '../util/bytes.js';
import { cleanTrackerUrl, cleanWebSeedUrl } from './announce.js';
import { MetainfoError, quote } from './errors.js';
import { loadTorrentFile } from './torrent.js';
import type { MagnetLink, Metainfo, PeerAddress } from './types.js';

export const MAX_MAGNET_LENGTH = 64 * 1024;
const MAX_PARAMS = 1000;
const MAX_TRACKERS = 100;
const MAX_PEERS = 200;
const MAX_WEB_SEEDS = 100;
/** BEP 53 ranges are expanded, so the number of selected indices is bounded. */
export const MAX_SELECTED = 10_000;
const MAX_FILE_INDEX = 1_000_000;

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function bad(message: string): never {
  throw new MetainfoError('magnet', `invalid magnet link: ${message}`);
}

function percentDecode(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return bad(`bad percent-encoding in ${what}`);
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

/** BEP 53 `so=0,2,4-6`: indices and inclusive ranges, expanded, sorted, deduplicated, bounded. */
export function parseSelectOnly(v: string): number[] {
  const selected = new Set<number>();
  for (const part of v.split(',')) {
    const m = /^(\d{1,7})(?:-(\d{1,7}))?$/.exec(part);
    if (m === null) bad(`'so' item ${quote(part)} is not an index or a range`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from || to > MAX_FILE_INDEX) bad(`'so' range ${quote(part)} is invalid`);
    if (to - from + 1 + selected.size > MAX_SELECTED) bad(`'so' selects more than ${MAX_SELECTED} files`);
    for (let i = from; i <= to; i++) selected.add(i);
  }
  return [...selected].sort((a, b) => a - b);
}

/** Parse a magnet URI. Throws MetainfoError with one clear line on anything unusable. */
export function parseMagnet(uri: string): MagnetLink {
  if (uri.length > MAX_MAGNET_LENGTH) bad(`longer than ${MAX_MAGNET_LENGTH} characters`);
  if (!/^magnet:\?/i.test(uri)) bad("it does not start with 'magnet:?'");
  const params = uri.slice(8).split('&');
  if (params.length > MAX_PARAMS) bad(`more than ${MAX_PARAMS} parameters`);
  let infoHash: Uint8Array | undefined;
  let btmh: string | undefined;
  let name: string | undefined;
  let select: number[] | undefined;
  const trackers = new Set<string>();
  const webSeeds = new Set<string>();
  const peers = new Map<string, PeerAddress>();
  for (const param of params) {
    if (param === '') continue;
    const eq = param.indexOf('=');
    const key = percentDecode(eq < 0 ? param : param.slice(0, eq), 'a parameter name');
    const rawValue = eq < 0 ? '' : param.slice(eq + 1);
    // `xt.1`, `tr.2`, ... are the numbered forms of the same parameters.
    const base = key.replace(/\.\d+$/, '');
    if (base === 'xt') {
      const value = percentDecode(rawValue, 'xt');
      const lower = value.toLowerCase();
      if (lower.startsWith('urn:btih:')) {
        const hash = parseBtih(value.slice(9));
        if (infoHash !== undefined && toHex(infoHash) !== toHex(hash)) bad('two different btih info hashes');
        infoHash = hash;
      } else if (lower.startsWith('urn:btmh:')) {
        btmh = parseBtmh(value.slice(9));
      }
    } else if (base === 'dn') {
      // '+' is a space in the form encoding that most magnet producers use for `dn`.
      name = percentDecode(rawValue.replace(/\+/g, ' '), 'dn');
    } else if (base === 'tr') {
      const url = cleanTrackerUrl(percentDecode(rawValue, 'tr'));
      if (url !== undefined && trackers.size < MAX_TRACKERS) trackers.add(url);
    } else if (base === 'ws') {
      const url = cleanWebSeedUrl(percentDecode(rawValue, 'ws'));
      if (url !== undefined && webSeeds.size < MAX_WEB_SEEDS) webSeeds.add(url);
    } else if (base === 'x.pe') {
      const peer = parsePeer(percentDecode(rawValue, 'x.pe'));
      if (peer !== undefined && peers.size < MAX_PEERS) peers.set(`${peer.host}|${peer.port}`, peer);
    } else if (base === 'so') {
      select = parseSelectOnly(percentDecode(rawValue, 'so'));
    }
  }
  if (infoHash === undefined && btmh === undefined) bad("no 'xt=urn:btih:' or 'xt=urn:btmh:' info hash");
  return {
    ...(infoHash === undefined ? {} : { infoHash, infoHashHex: toHex(infoHash) }),
    ...(btmh === undefined ? {} : { btmh }),
    ...(name === undefined ? {} : { name }),
    trackers: [...trackers],
    peers: [...peers.values()],
    webSeeds: [...webSeeds],
    ...(select === undefined ? {} : { select }),
  };
}

/** A magnet link for a parsed torrent: info hash, name, every tracker in tier order, web seeds. */
export function toMagnet(meta: Metainfo): string {
  const parts = [`xt=urn:btih:${meta.infoHashHex}`, `dn=${encodeURIComponent(meta.info.name)}`];
  for (const tier of meta.announce) for (const url of tier) parts.push(`tr=${encodeURIComponent(url)}`);
  for (const url of meta.urlList) parts.push(`ws=${encodeURIComponent(url)}`);
  return `magnet:?${parts.join('&')}`;
}

export type TorrentOrMagnet = { kind: 'torrent'; meta: Metainfo } | { kind: 'magnet'; magnet: MagnetLink };

/** What the CLI accepts as "a torrent": a `magnet:` link, or a path to a .torrent file. */
export async function parseTorrentOrMagnet(arg: string): Promise<TorrentOrMagnet> {
  if (/^magnet:/i.test(arg)) return { kind: 'magnet', magnet: parseMagnet(arg) };
  return { kind: 'torrent', meta: await loadTorrentFile(arg) };
}
