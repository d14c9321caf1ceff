/**
 * The files of a torrent in piece-space order, stored compactly: lengths and offsets in
 * `Float64Array`s, and each path either as the offset of its list in the .torrent bytes (when
 * sanitizing left every component as it was, the common case) or as sanitized strings. A
 * `FileEntry` object is made only when asked for, so a torrent of 100,000 files costs a few
 * typed arrays instead of 600,000 objects, and the path strings are made when first read,
 * directory names shared.
 */
import { BencodeCursor, byteStringListAt, type ByteSpan } from '../bencode/index.js';
import type { FileEntry } from './types.js';

/** `listAt` for a path that is not stored as a list in the source. */
export const NO_LIST = 0xffffffff;

/**
 * What the file-list reader learnt of the files' folders and names on its way, so that the
 * tree view need not read every path again.
 */
export interface PathIndex {
  /**
   * Per file, the folder it is in: -1 at the top, `NO_FOLDER` for a file the reader did not
   * claim (pad files: read its path), else the folder's number (0 to `folderCount - 1`, in the
   * order the folders first appeared among the claimed files). Two files share a number exactly
   * when their sanitized paths share every folder.
   */
  readonly folder: Int32Array;
  readonly folderCount: number;
  /** The .torrent bytes, which `nameFrom` and `nameTo` point into. */
  readonly source: Buffer;
  /** Per file whose path `verbatimSpans` reads: its last component's span; else -1. */
  readonly nameFrom: Int32Array;
  readonly nameTo: Int32Array;
}

export const NO_FOLDER = -2;

/** What the file-list reader hands over; see `FileTable`. */
export interface FileTableParts {
  /** The .torrent bytes that `listAt` points into. */
  readonly source: Buffer;
  readonly lengths: Float64Array;
  readonly offsets: Float64Array;
  /** 1 for a BEP 47 pad file. */
  readonly pad: Uint8Array;
  /** Offset of the bencoded list whose byte strings are the sanitized path, or `NO_LIST`. */
  readonly listAt: Uint32Array;
  /** Sanitized paths of the files whose `listAt` is `NO_LIST`. */
  readonly paths: ReadonlyMap<number, readonly string[]>;
  /** Non-empty BEP 47 attributes. */
  readonly attrs: ReadonlyMap<number, string>;
  readonly symlinks: ReadonlyMap<number, readonly string[]>;
  readonly index?: PathIndex;
}

export class FileTable implements Iterable<FileEntry> {
  /** Number of files, padding included. */
  readonly count: number;
  /** Number of BEP 47 pad files. */
  readonly padCount: number;
  private readonly names = new Map<string, string>();
  private cached: readonly FileEntry[] | undefined;
  private readonly span: ByteSpan = { from: 0, to: 0 };

  constructor(private readonly parts: FileTableParts) {
    this.count = parts.lengths.length;
    let pads = 0;
    for (let i = 0; i < this.count; i++) pads += parts.pad[i]!;
    this.padCount = pads;
  }

  /** The reader's index of folders and names, when the table was read from a `files` list. */
  get pathIndex(): PathIndex | undefined {
    return this.parts.index;
  }

  /** A table over entries that are already objects (single-file and v2 torrents, tests). */
  static fromEntries(entries: readonly FileEntry[]): FileTable {
    const n = entries.length;
    const parts = {
      source: Buffer.alloc(0),
      lengths: new Float64Array(n),
      offsets: new Float64Array(n),
      pad: new Uint8Array(n),
      listAt: new Uint32Array(n).fill(NO_LIST),
      paths: new Map<number, readonly string[]>(),
      attrs: new Map<number, string>(),
      symlinks: new Map<number, readonly string[]>(),
    };
    entries.forEach((e, i) => {
      parts.lengths[i] = e.length;
      parts.offsets[i] = e.offset;
      parts.pad[i] = e.pad ? 1 : 0;
      parts.paths.set(i, e.path);
      if (e.attr !== '') parts.attrs.set(i, e.attr);
      if (e.symlinkPath !== undefined) parts.symlinks.set(i, e.symlinkPath);
    });
    const table = new FileTable(parts);
    table.cached = entries;
    return table;
  }

  length(i: number): number {
    return this.parts.lengths[i]!;
  }

  /** Byte offset of the file's first byte in piece space. */
  offset(i: number): number {
    return this.parts.offsets[i]!;
  }

  isPad(i: number): boolean {
    return this.parts.pad[i] === 1;
  }

  attr(i: number): string {
    return this.parts.attrs.get(i) ?? '';
  }

  symlinkPath(i: number): readonly string[] | undefined {
    return this.parts.symlinks.get(i);
  }

  /** Sanitized path components (a fresh array when read from the source). */
  path(i: number): readonly string[] {
    const at = this.parts.listAt[i]!;
    if (at === NO_LIST) return this.parts.paths.get(i)!;
    const cursor = new BencodeCursor(this.parts.source, at + 1, this.parts.source.length);
    const out: string[] = [];
    while (!cursor.leave()) {
      cursor.bytes();
      out.push(this.parts.source.toString('latin1', cursor.from, cursor.to));
    }
    // Directory names repeat from file to file: keep one string of each.
    for (let c = 0; c < out.length - 1; c++) {
      const name = out[c]!;
      const shared = this.names.get(name);
      if (shared === undefined) this.names.set(name, name);
      else out[c] = shared;
    }
    return out;
  }

  /**
   * When file `i`'s path is stored verbatim in the .torrent bytes, fills `spans` with the
   * `from, to` offsets of its components in the buffer it returns; else returns undefined (read
   * `path(i)`). Such components are printable ASCII other than `/` and `\`, which sanitizing
   * left as they are: their bytes are their text, with nothing a terminal would act on.
   */
  verbatimSpans(i: number, spans: number[]): Buffer | undefined {
    const at = this.parts.listAt[i]!;
    if (at === NO_LIST) return undefined;
    const { source } = this.parts;
    // A length with leading zeros past 15 digits: the cursor reads it.
    if (byteStringListAt(source, at + 1, source.length, spans, this.span) < 0) return this.cursorSpans(at, spans);
    return source;
  }

  private cursorSpans(at: number, spans: number[]): Buffer {
    const cursor = new BencodeCursor(this.parts.source, at + 1, this.parts.source.length);
    spans.length = 0;
    while (!cursor.leave()) {
      cursor.bytes();
      spans.push(cursor.from, cursor.to);
    }
    return this.parts.source;
  }

  /** The last path component. */
  name(i: number): string {
    const at = this.parts.listAt[i]!;
    if (at === NO_LIST) return this.parts.paths.get(i)!.at(-1)!;
    const cursor = new BencodeCursor(this.parts.source, at + 1, this.parts.source.length);
    let from = 0;
    let to = 0;
    while (!cursor.leave()) {
      cursor.bytes();
      ({ from, to } = cursor);
    }
    return this.parts.source.toString('latin1', from, to);
  }

  entry(i: number): FileEntry {
    if (this.cached !== undefined) return this.cached[i]!;
    const symlinkPath = this.symlinkPath(i);
    return {
      path: this.path(i),
      length: this.length(i),
      offset: this.offset(i),
      pad: this.isPad(i),
      attr: this.attr(i),
      ...(symlinkPath === undefined ? {} : { symlinkPath }),
    };
  }

  /** Every entry as an object, made once and then kept. */
  toArray(): readonly FileEntry[] {
    if (this.cached === undefined) {
      const all: FileEntry[] = new Array<FileEntry>(this.count);
      for (let i = 0; i < this.count; i++) all[i] = this.entry(i);
      this.cached = all;
    }
    return this.cached;
  }

  *[Symbol.iterator](): Iterator<FileEntry> {
    for (let i = 0; i < this.count; i++) yield this.entry(i);
  }
}
