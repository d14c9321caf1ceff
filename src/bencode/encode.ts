/**
 * Canonical bencode encoder: dictionary keys sorted as raw bytes, integers without leading
 * zeros, JS strings written as UTF-8. Iterative like the decoder, so deep input cannot
 * overflow the stack.
 */
import { BencodeError } from './errors.js';
import type { Encodable } from './types.js';

/** Bytes already encoded (a dictionary key with its prefix, or an end marker). */
class Raw {
  constructor(readonly bytes: Buffer) {}
}

const END = new Raw(Buffer.from('e'));

function view(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function encode(value: Encodable): Buffer {
  const chunks: Buffer[] = [];
  const stack: (Encodable | Raw)[] = [value];
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (v instanceof Raw) {
      chunks.push(v.bytes);
    } else if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new BencodeError('not-an-integer', `cannot encode ${v}`, 0);
      chunks.push(Buffer.from(`i${v}e`));
    } else if (typeof v === 'bigint') {
      chunks.push(Buffer.from(`i${v.toString()}e`));
    } else if (typeof v === 'string') {
      const b = Buffer.from(v, 'utf8');
      chunks.push(Buffer.from(`${b.length}:`), b);
    } else if (v instanceof Uint8Array) {
      chunks.push(Buffer.from(`${v.length}:`), view(v));
    } else if (Array.isArray(v)) {
      chunks.push(Buffer.from('l'));
      stack.push(END);
      for (let i = v.length - 1; i >= 0; i--) stack.push(v[i] as Encodable);
    } else {
      // Keys of Maps (decoded dictionaries) are latin1 strings of raw bytes; keys of plain objects are text.
      const fromMap = v instanceof Map;
      const source: Iterable<[string, Encodable | undefined]> = fromMap
        ? (v as ReadonlyMap<string, Encodable>).entries()
        : Object.entries(v as { readonly [key: string]: Encodable | undefined });
      const entries: [Buffer, Encodable][] = [];
      for (const [k, val] of source) {
        if (val !== undefined) entries.push([Buffer.from(k, fromMap ? 'latin1' : 'utf8'), val]);
      }
      entries.sort((a, b) => Buffer.compare(a[0], b[0]));
      chunks.push(Buffer.from('d'));
      stack.push(END);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, val] = entries[i]!;
        stack.push(val, new Raw(Buffer.concat([Buffer.from(`${k.length}:`), k])));
      }
    }
  }
  return Buffer.concat(chunks);
}
