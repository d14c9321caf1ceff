/**
 * Claims sanitized paths for the files of one torrent, renaming duplicates within the budget
 * and refusing a file that is also another file's folder (policy: safe-path.ts).
 *
 * A path's key is its components each written as `<length>:<text>` (bencode's byte-string form,
 * lengths in UTF-16 units): no two paths share a key, and a path's folders are keyed by the
 * prefixes of its key. So for a `path` list that sanitizing leaves as it is, the key is a slice
 * of the .torrent bytes, and no string per component is made (`claimSpans`).
 */
import { MetainfoError, quote } from './errors.js';
import { KeySet } from './key-set.js';
import { MAX_COMPONENT_BYTES, MAX_RENAME_BUDGET, truncateUtf8 } from './safe-path.js';

const C_0 = 0x30;

/** The components of a key joined by `/`, for messages. */
function shown(key: string): string {
  const parts: string[] = [];
  for (let p = 0; p < key.length; ) {
    const colon = key.indexOf(':', p);
    const end = colon + 1 + Number(key.slice(p, colon));
    parts.push(key.slice(colon + 1, end));
    p = end;
  }
  return parts.join('/');
}

/** Insert `.n` before the extension: `bar.txt` -> `bar.1.txt`, `bar` -> `bar.1`. */
export function withSuffix(name: string, n: number): string {
  const dot = name.lastIndexOf('.');
  const base = dot > 0 ? name.slice(0, dot) : name;
  const ext = dot > 0 ? name.slice(dot) : '';
  const suffix = `.${n}${ext}`;
  return truncateUtf8(base, MAX_COMPONENT_BYTES - Buffer.byteLength(suffix)) + suffix;
}

/** The key units `src[from, to)` as a string. */
function keyText(src: string | Uint8Array, from: number, to: number): string {
  return typeof src === 'string' ? src.slice(from, to) : Buffer.from(src.buffer, src.byteOffset, src.byteLength).toString('latin1', from, to);
}

export class PathRegistry {
  private readonly files: KeySet;
  private readonly dirs = new KeySet();
  private readonly nextSuffix = new Map<string, number>();
  private spent = 0;
  /**
   * The folder of the path claimed last: -1 at the top, else its number among the folders of
   * the claimed paths, counted from 0 in the order they first appeared (`folderCount` in all).
   */
  folder = -1;
  /** Scratch: where each new folder of the path being claimed ends, and its hash. */
  private readonly newDirEnds: number[] = [];
  private readonly newDirHashes: number[] = [];

  /** `expectedFiles` sizes the table up front (a hint, not a bound). */
  constructor(
    private readonly budget = MAX_RENAME_BUDGET,
    expectedFiles = 0,
  ) {
    this.files = new KeySet(expectedFiles);
  }

  get folderCount(): number {
    return this.dirs.size;
  }

  /** Claims a sanitized path; returns it, its last component renamed if it was taken. */
  claim(path: readonly string[], where: string, notes: string[]): string[] {
    let key = '';
    const spans: number[] = [];
    for (const c of path) {
      key += `${c.length}:`;
      spans.push(key.length, key.length + c.length);
      key += c;
    }
    const renamed = this.claimKey(key, 0, spans, () => where, notes);
    const out = [...path];
    if (renamed !== undefined) out[out.length - 1] = renamed;
    return out;
  }

  /**
   * `claim` for a bencoded list of byte strings whose first length prefix starts at `from` and
   * whose components are `source[spans[0], spans[1])`, `source[spans[2], spans[3])`, ..., each
   * one that sanitizing leaves as it is. Returns the new last component if it was taken.
   * `where` names the entry, for messages (called only when there is one to write).
   */
  claimSpans(source: Uint8Array, from: number, spans: readonly number[], where: () => string, notes: string[]): string | undefined {
    // The list's bytes are the key unless a length was written with leading zeros.
    for (let k = 0, at = from; k < spans.length; at = spans[k + 1]!, k += 2) {
      if (source[at] === C_0) {
        const path: string[] = [];
        for (let j = 0; j < spans.length; j += 2) path.push(keyText(source, spans[j]!, spans[j + 1]!));
        const out = this.claim(path, where(), notes);
        return out[out.length - 1] === path[path.length - 1] ? undefined : out[out.length - 1];
      }
    }
    return this.claimKey(source, from, spans, where, notes);
  }

  /**
   * Claims the key `src[from, spans[spans.length - 1])`, whose components are at `spans` and
   * whose folders end where they end. Returns the new last component if it was taken.
   */
  private claimKey(src: string | Uint8Array, from: number, spans: readonly number[], where: () => string, notes: string[]): string | undefined {
    const n = spans.length;
    // One pass of the hash over the key: each folder's hash is where the pass stands at its end.
    const { newDirEnds, newDirHashes } = this;
    let newDirs = 0;
    let folder = -1;
    let hash = KeySet.hash(src, from, from);
    for (let k = 1, at = from; k < n; at = spans[k]!, k += 2) {
      hash = KeySet.hash(src, at, spans[k]!, hash);
      if (k >= n - 2) continue;
      folder = this.dirs.id(src, from, spans[k]!, hash);
      // No key is both a file and a folder (a file named as a folder is renamed), so only a
      // folder not seen before can be a file.
      if (folder < 0) {
        if (this.files.has(src, from, spans[k]!, hash)) {
          throw new MetainfoError('path-conflict', `${where()}: directory ${quote(shown(keyText(src, from, spans[k]!)))} is also a file of the torrent`);
        }
        newDirEnds[newDirs] = spans[k]!;
        newDirHashes[newDirs++] = hash;
      }
    }
    const end = spans[n - 1]!;
    let renamed: string | undefined;
    // Claimed as it is unless a folder or a file has the key already (one probe adds it).
    if (this.dirs.has(src, from, end, hash) || !this.files.addIfNew(src, from, end, hash)) {
      const key = keyText(src, from, end);
      const dir = n > 2 ? keyText(src, from, spans[n - 3]!) : '';
      const last = keyText(src, spans[n - 2]!, end);
      let next = this.nextSuffix.get(key) ?? 1;
      let candidate: string;
      for (;;) {
        this.spent += next;
        if (this.spent > this.budget) {
          throw new MetainfoError('too-many-duplicates', `${where()}: too many duplicate file names (rename budget ${this.budget} spent)`);
        }
        renamed = withSuffix(last, next);
        candidate = `${dir}${renamed.length}:${renamed}`;
        next++;
        if (!this.files.has(candidate, 0, candidate.length) && !this.dirs.has(candidate, 0, candidate.length)) break;
      }
      this.nextSuffix.set(key, next);
      notes.push(`${where()}: duplicate path ${quote(shown(key))} renamed to ${quote(renamed)}`);
      this.files.addNew(candidate, 0, candidate.length, KeySet.hash(candidate, 0, candidate.length));
    }
    // A folder is added with the folders around it, so once the innermost is known all are;
    // when it is new, it is the last one added.
    for (let j = 0; j < newDirs; j++) this.dirs.addNew(src, from, newDirEnds[j]!, newDirHashes[j]!);
    this.folder = newDirs > 0 ? this.dirs.size - 1 : folder;
    return renamed;
  }
}
