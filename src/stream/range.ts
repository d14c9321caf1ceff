/**
 * HTTP byte ranges (RFC 9110 §14): the one part of serving a file that is pure. A single range
 * is honoured (`bytes=a-b`, `bytes=a-`, `bytes=-n`); several ranges, or a header that does not
 * parse, are ignored and the whole file is served, which the RFC allows and players never
 * need otherwise. A range that starts past the end is unsatisfiable (416).
 */

export type RangeRequest =
  | { readonly kind: 'whole' }
  | { readonly kind: 'range'; readonly start: number; readonly end: number }
  | { readonly kind: 'unsatisfiable' };

export function parseRange(header: string | undefined, length: number): RangeRequest {
  if (header === undefined) return { kind: 'whole' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (m === null) return { kind: 'whole' };
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return { kind: 'whole' };
  if (a === '') {
    // Suffix: the last n bytes.
    const n = Number(b);
    if (n === 0) return { kind: 'unsatisfiable' };
    return length === 0 ? { kind: 'unsatisfiable' } : { kind: 'range', start: Math.max(0, length - n), end: length - 1 };
  }
  const start = Number(a);
  if (!Number.isSafeInteger(start) || start >= length) return { kind: 'unsatisfiable' };
  const end = b === '' ? length - 1 : Math.min(Number(b), length - 1);
  if (!(end >= start)) return { kind: 'whole' };
  return { kind: 'range', start, end };
}

const TYPES: Record<string, string> = {
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  mkv: 'video/x-matroska',
  webm: 'video/webm',
  avi: 'video/x-msvideo',
  mov: 'video/quicktime',
  ogv: 'video/ogg',
  ts: 'video/mp2t',
  mp3: 'audio/mpeg',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  flac: 'audio/flac',
  ogg: 'audio/ogg',
  opus: 'audio/ogg',
  wav: 'audio/wav',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  pdf: 'application/pdf',
  txt: 'text/plain; charset=utf-8',
  srt: 'text/plain; charset=utf-8',
  vtt: 'text/vtt; charset=utf-8',
};

/**
 * The Content-Type for a file name. Active content (HTML, SVG, scripts) is deliberately served
 * as bytes: a stranger's torrent must not run script in a browser on our origin.
 */
export function contentType(name: string): string {
  const dot = name.lastIndexOf('.');
  const ext = dot < 0 ? '' : name.slice(dot + 1).toLowerCase();
  return TYPES[ext] ?? 'application/octet-stream';
}
