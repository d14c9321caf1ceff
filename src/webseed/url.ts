/**
 * BEP 19 URL rules: where a web seed serves each file of the torrent.
 *  - single-file torrent: the URL is the file itself, unless it ends in `/`, in which case it
 *    names a folder and the torrent's `name` is appended;
 *  - multi-file torrent: the URL names the folder that holds the torrent's top folder, so
 *    `name/` and the file's path components are appended (a missing final `/` is added, as
 *    libtorrent and aria2 do).
 * Components are the torrent's own bytes (not the names sanitized for the disk: the server
 * stores the files under the names their creator had), each percent-encoded whole, so a `/`,
 * `?` or `#` inside a name stays part of that name. A query string on the URL is kept.
 */
import { WebSeedError } from './errors.js';

/** RFC 3986 unreserved characters go as they are; every other byte is percent-encoded. */
function isUnreserved(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e;
}

/** One path component, percent-encoded byte by byte (UTF-8 for a string). */
export function encodeComponent(component: Uint8Array | string): string {
  const bytes = typeof component === 'string' ? Buffer.from(component, 'utf8') : component;
  // `.` and `..` would be read as dot segments even when encoded (%2E is one too, per WHATWG URL).
  if (bytes.length === 0 || (bytes.length <= 2 && bytes.every((b) => b === 0x2e))) {
    throw new WebSeedError('webseed-bad-url', `a path component cannot be ${JSON.stringify(Buffer.from(bytes).toString('latin1'))} in a web seed URL`);
  }
  let out = '';
  for (const b of bytes) out += isUnreserved(b) ? String.fromCharCode(b) : `%${b < 16 ? '0' : ''}${b.toString(16).toUpperCase()}`;
  return out;
}

/** The web seed URL, parsed once: http or https only. */
export function parseWebSeedUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebSeedError('webseed-bad-url', `not a URL: ${raw}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new WebSeedError('webseed-bad-url', `not an http(s) web seed: ${raw}`);
  if (url.username !== '' || url.password !== '') throw new WebSeedError('webseed-bad-url', 'a web seed URL may not carry credentials');
  url.hash = '';
  return url;
}

/**
 * The URL of one file. `name` is the torrent's `name`, `path` the file's components below
 * the top folder (ignored for a single-file torrent).
 */
export function fileUrl(base: URL, multiFile: boolean, name: Uint8Array | string, path: readonly (Uint8Array | string)[]): URL {
  const url = new URL(base.href);
  let dir = url.pathname;
  if (!multiFile) {
    if (!dir.endsWith('/')) return url;
    url.pathname = dir + encodeComponent(name);
    return url;
  }
  if (!dir.endsWith('/')) dir += '/';
  url.pathname = dir + [name, ...path].map(encodeComponent).join('/');
  return url;
}
