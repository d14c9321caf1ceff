/**
 * Tracker tiers (BEP 12) and web seeds (BEP 19) from a torrent's root dictionary. These are
 * advisory: a bad entry is dropped with a warning, never a reason to refuse the torrent.
 */
import { asBytes, asList, type BDict, type BValue } from '../bencode/index.js';
import { quote } from './errors.js';

/** Bounds on what one torrent may list; the rest is dropped with a warning. */
export const MAX_TRACKERS = 200;
export const MAX_WEB_SEEDS = 100;

const TRACKER_SCHEMES = new Set(['http:', 'https:', 'udp:']);
const WEB_SEED_SCHEMES = new Set(['http:', 'https:']);

function text(v: BValue | undefined): string | undefined {
  const b = asBytes(v);
  return b === undefined ? undefined : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
}

/** A normalized URL with one of `schemes`, or undefined. Whitespace around it is trimmed (libtorrent whitespace_url). */
export function cleanUrl(raw: string, schemes: ReadonlySet<string>): string | undefined {
  const s = raw.trim();
  if (s === '') return undefined;
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return undefined;
  }
  if (!schemes.has(url.protocol) || url.hostname === '' || url.port === '0') return undefined;
  // `href` percent-encodes spaces and other unsafe characters (libtorrent url_seed_multi_space).
  return url.href;
}

/** A tracker URL; a `udp://` one must name its port (BEP 15 has no default port). */
export function cleanTrackerUrl(raw: string): string | undefined {
  const url = cleanUrl(raw, TRACKER_SCHEMES);
  return url === undefined || (url.startsWith('udp:') && new URL(url).port === '') ? undefined : url;
}

export function cleanWebSeedUrl(raw: string): string | undefined {
  return cleanUrl(raw, WEB_SEED_SCHEMES);
}

/**
 * BEP 12: when `announce-list` yields at least one usable URL it replaces `announce`. Tiers keep
 * their order; a URL seen before is dropped, and so is a tier left empty. A flat list of strings
 * (seen in the wild) is read as one tier per URL.
 */
export function parseTrackers(root: BDict, warnings: string[]): string[][] {
  const seen = new Set<string>();
  const tiers: string[][] = [];
  let dropped = 0;
  const add = (tier: string[], raw: string): void => {
    const url = cleanTrackerUrl(raw);
    if (url === undefined) {
      dropped++;
      return;
    }
    if (seen.has(url) || seen.size >= MAX_TRACKERS) return;
    seen.add(url);
    tier.push(url);
  };
  for (const item of asList(root.get('announce-list')) ?? []) {
    const tier: string[] = [];
    const single = text(item);
    if (single !== undefined) add(tier, single);
    for (const entry of asList(item) ?? []) {
      const t = text(entry);
      if (t === undefined) dropped++;
      else add(tier, t);
    }
    if (tier.length > 0) tiers.push(tier);
  }
  if (tiers.length === 0) {
    const announce = text(root.get('announce'));
    if (announce !== undefined) {
      const tier: string[] = [];
      add(tier, announce);
      if (tier.length > 0) tiers.push(tier);
    }
  }
  if (dropped > 0) warnings.push(`${dropped} unusable tracker URL(s) ignored (only http, https and udp are used)`);
  return tiers;
}

/** BEP 19 `url-list`: a string or a list of strings; non-strings, empties and duplicates are dropped. */
export function parseWebSeeds(root: BDict, warnings: string[]): string[] {
  const raw = root.get('url-list');
  if (raw === undefined) return [];
  const items = asList(raw) ?? [raw];
  const seeds = new Set<string>();
  let firstBad: string | undefined;
  let bad = 0;
  for (const item of items) {
    const t = text(item);
    if (t === undefined || t.trim() === '') continue;
    const url = cleanWebSeedUrl(t);
    if (url === undefined) {
      firstBad ??= t;
      bad++;
    } else if (seeds.size < MAX_WEB_SEEDS) {
      seeds.add(url);
    }
  }
  if (firstBad !== undefined) warnings.push(`${bad} web seed(s) ignored, such as ${quote(firstBad)} (not http or https)`);
  return [...seeds];
}
