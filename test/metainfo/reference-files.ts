/**
 * The straightforward reading of a v1 `files` list, over fully decoded values, with a path
 * registry keyed by `/`-joined strings: the oracle that the in-place reader (file-list.ts) and
 * its registry must agree with, warning for warning and error for error. It shares only the
 * leaf rules (sanitizing a name, a length field, a rename suffix) with the code under test.
 */
import { asBytes, asDict, asList, type BDict, type BValue } from '../../src/bencode/index.js';
import { MetainfoError, quote } from '../../src/metainfo/errors.js';
import { lengthField } from '../../src/metainfo/file-list.js';
import { withSuffix } from '../../src/metainfo/path-registry.js';
import { decodeUtf8Strict, MAX_RENAME_BUDGET, sanitizePath } from '../../src/metainfo/safe-path.js';
import type { FileEntry } from '../../src/metainfo/types.js';

const LEGACY_PAD = /^_____padding_file_/;

function fail(code: string, message: string): never {
  throw new MetainfoError(code, message);
}

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

export class ReferenceRegistry {
  private readonly files = new Set<string>();
  private readonly dirs = new Set<string>();
  private readonly nextSuffix = new Map<string, number>();
  private spent = 0;

  claim(path: readonly string[], where: string, notes: string[]): string[] {
    const out = [...path];
    let prefix = '';
    for (let i = 0; i < out.length - 1; i++) {
      prefix = i === 0 ? out[0]! : `${prefix}/${out[i]!}`;
      if (this.files.has(prefix)) throw new MetainfoError('path-conflict', `${where}: directory ${quote(prefix)} is also a file of the torrent`);
    }
    const dir = out.slice(0, -1).join('/');
    const last = out[out.length - 1]!;
    const key = dir === '' ? last : `${dir}/${last}`;
    if (this.files.has(key) || this.dirs.has(key)) {
      let n = this.nextSuffix.get(key) ?? 1;
      let candidate: string;
      for (;;) {
        this.spent += n;
        if (this.spent > MAX_RENAME_BUDGET) {
          throw new MetainfoError('too-many-duplicates', `${where}: too many duplicate file names (rename budget ${MAX_RENAME_BUDGET} spent)`);
        }
        candidate = withSuffix(last, n);
        const candidateKey = dir === '' ? candidate : `${dir}/${candidate}`;
        n++;
        if (!this.files.has(candidateKey) && !this.dirs.has(candidateKey)) break;
      }
      this.nextSuffix.set(key, n);
      notes.push(`${where}: duplicate path ${quote(key)} renamed to ${quote(candidate)}`);
      out[out.length - 1] = candidate;
    }
    this.files.add(out.join('/'));
    prefix = '';
    for (let i = 0; i < out.length - 1; i++) {
      prefix = i === 0 ? out[0]! : `${prefix}/${out[i]!}`;
      this.dirs.add(prefix);
    }
    return out;
  }
}

function rawPath(entry: BDict, where: string): Uint8Array[] | undefined {
  const alt = asList(entry.get('path.utf-8'));
  if (alt !== undefined && alt.length > 0 && alt.every((c) => c instanceof Uint8Array && decodeUtf8Strict(c) !== undefined)) {
    return alt as Uint8Array[];
  }
  if (entry.has('path') && asList(entry.get('path')) === undefined) fail('invalid-path', `${where}.path is not a list`);
  const list = asList(entry.get('path'));
  return list?.map((c, i) => asBytes(c) ?? fail('invalid-path', `${where}.path[${i}] is not a string`));
}

export interface ReferenceFiles {
  readonly raw: { path: Uint8Array[]; length: number; pad: boolean }[];
  readonly entries: FileEntry[];
  readonly total: number;
}

/** The `files` value, decoded, read the straightforward way. */
export function referenceFiles(value: BValue, notes: string[]): ReferenceFiles {
  const list = asList(value) ?? fail('invalid-files', "'files' is not a list");
  if (list.length === 0) fail('no-files', "'files' is empty");
  const registry = new ReferenceRegistry();
  const raw: ReferenceFiles['raw'] = [];
  const entries: FileEntry[] = [];
  let total = 0;
  for (let i = 0; i < list.length; i++) {
    const where = `files[${i}]`;
    const entry = asDict(list[i]) ?? fail('invalid-file', `${where} is not a dictionary`);
    const attrBytes = asBytes(entry.get('attr'));
    const attr = attrBytes === undefined ? '' : latin1(attrBytes).replace(/[^a-z]/g, '');
    const symlink = attr.includes('l');
    const declared = symlink && !entry.has('length') ? 0 : lengthField(entry.get('length'), `${where}.length`);
    const length = symlink ? 0 : declared;
    let path = rawPath(entry, where);
    if (path?.length === 0) fail('invalid-path', `${where}.path is an empty list`);
    const pad = attr.includes('p') || (path !== undefined && (latin1(path[0]!) === '.pad' || LEGACY_PAD.test(latin1(path[path.length - 1]!))));
    if (path === undefined) {
      if (!pad) fail('missing-path', `${where} has no 'path'`);
      path = [Buffer.from('.pad'), Buffer.from(String(length))];
    }
    let clean = sanitizePath(path, `${where}.path`, notes);
    if (!pad) clean = registry.claim(clean, `${where}.path`, notes);
    let symlinkPath: string[] | undefined;
    if (symlink) {
      const target = asList(entry.get('symlink path')) ?? fail('invalid-symlink', `${where} has no valid 'symlink path'`);
      const targetRaw = target.map((c, j) => asBytes(c) ?? fail('invalid-symlink', `${where}.symlink path[${j}] is not a string`));
      symlinkPath = sanitizePath(targetRaw, `${where}.symlink path`, notes);
    }
    if (total + length > Number.MAX_SAFE_INTEGER) fail('invalid-length', `total length exceeds 2^53 at ${where}`);
    entries.push({ path: clean, length, offset: total, pad, attr, ...(symlinkPath === undefined ? {} : { symlinkPath }) });
    raw.push({ path, length, pad });
    total += length;
  }
  return { raw, entries, total };
}
