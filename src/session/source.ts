/**
 * What `Session.add` accepts, turned into a parsed torrent or a magnet link: a .torrent as
 * bytes or as a path, a magnet link, a bare info hash (40 hex or 32 base32 digits, BEP 9's
 * two spellings) or an http(s) URL of a .torrent, fetched with a size limit and a timeout.
 */
import { MAX_TORRENT_FILE_BYTES, loadTorrentFile, parseMagnet, parseTorrent } from '../metainfo/index.js';
import type { MagnetLink, Metainfo } from '../metainfo/types.js';
import { SessionError } from './errors.js';

/** A path, magnet link, info hash or http(s) URL; .torrent bytes; or an already parsed torrent or magnet. */
export type TorrentSource = string | Uint8Array | URL | Metainfo | MagnetLink;

export type ResolvedSource = { readonly kind: 'torrent'; readonly meta: Metainfo } | { readonly kind: 'magnet'; readonly magnet: MagnetLink };

export interface ResolveOptions {
  readonly signal?: AbortSignal;
  /** For http(s) sources: the whole fetch, headers and body. Default 30 s. */
  readonly fetchTimeoutMs?: number;
  /** For http(s) sources. Default (and at most) the .torrent limit, 10 MB. */
  readonly maxBytes?: number;
}

export async function resolveSource(source: TorrentSource, opts: ResolveOptions = {}): Promise<ResolvedSource> {
  if (source instanceof Uint8Array) return { kind: 'torrent', meta: parseTorrent(source) };
  if (typeof source === 'object' && !(source instanceof URL)) return 'infoBytes' in source ? { kind: 'torrent', meta: source } : { kind: 'magnet', magnet: source };
  const text = source instanceof URL ? source.href : source;
  if (/^magnet:/i.test(text)) return { kind: 'magnet', magnet: parseMagnet(text) };
  if (/^[0-9a-f]{40}$/i.test(text) || /^[a-z2-7]{32}$/i.test(text)) return { kind: 'magnet', magnet: parseMagnet(`magnet:?xt=urn:btih:${text}`) };
  if (/^https?:\/\//i.test(text)) return { kind: 'torrent', meta: parseTorrent(await fetchTorrent(text, opts)) };
  if (source instanceof URL) {
    if (source.protocol === 'file:') return { kind: 'torrent', meta: await loadTorrentFile(decodeURIComponent(source.pathname)) };
    throw new SessionError('bad-source', `unsupported URL scheme '${source.protocol}' (http, https, file and magnet are)`);
  }
  return { kind: 'torrent', meta: await loadTorrentFile(text) };
}

/** GET a .torrent: redirects followed by fetch (at most 20), the body read up to the limit. */
async function fetchTorrent(url: string, opts: ResolveOptions): Promise<Uint8Array> {
  const limit = Math.min(opts.maxBytes ?? MAX_TORRENT_FILE_BYTES, MAX_TORRENT_FILE_BYTES);
  const timeout = AbortSignal.timeout(opts.fetchTimeoutMs ?? 30_000);
  const signal = opts.signal !== undefined ? AbortSignal.any([opts.signal, timeout]) : timeout;
  const shown = redact(url);
  let res: Response;
  try {
    res = await fetch(url, { signal, redirect: 'follow' });
  } catch (err) {
    throw fetchFailure(shown, err, opts.signal);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new SessionError('bad-source', `cannot fetch ${shown}: HTTP ${res.status}`);
  }
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > limit) {
    await res.body?.cancel().catch(() => undefined);
    throw new SessionError('bad-source', `${shown} is ${declared} bytes (limit ${limit})`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    if (res.body !== null) {
      for await (const chunk of res.body) {
        total += chunk.length;
        if (total > limit) {
          await res.body.cancel().catch(() => undefined);
          throw new SessionError('bad-source', `${shown} is larger than ${limit} bytes`);
        }
        chunks.push(chunk);
      }
    }
  } catch (err) {
    if (err instanceof SessionError) throw err;
    throw fetchFailure(shown, err, opts.signal);
  }
  return Buffer.concat(chunks);
}

function fetchFailure(shown: string, err: unknown, signal: AbortSignal | undefined): SessionError {
  if (signal?.aborted === true) return new SessionError('aborted', `fetching ${shown} was aborted`, { cause: err });
  const name = err instanceof Error ? err.name : '';
  if (name === 'TimeoutError') return new SessionError('bad-source', `cannot fetch ${shown}: timed out`, { cause: err });
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : err instanceof Error ? err.message : String(err);
  return new SessionError('bad-source', `cannot fetch ${shown}: ${cause}`, { cause: err });
}

/** A URL for messages: no credentials, no query (which may hold a passkey). */
function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return 'the URL';
  }
}
