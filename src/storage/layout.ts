import { StorageError } from './errors.js';

/**
 * The map from piece space (all files concatenated, in torrent order) to file extents.
 * Zero-length files own no bytes and never appear in an extent. BEP 47 pad files do
 * appear, marked `pad`, so that writers skip them and readers fill zeros.
 */

export interface FileExtent {
  readonly fileIndex: number;
  /** Offset inside the file. */
  readonly fileOffset: number;
  readonly length: number;
  /** BEP 47 padding: never written, reads as zeros. */
  readonly pad: boolean;
}

export interface LayoutFile {
  readonly offset: number;
  readonly length: number;
  readonly pad: boolean;
}

export class FileLayout {
  readonly totalLength: number;
  private readonly files: readonly LayoutFile[];
  /** Start offsets and file indices of the non-empty files, ascending, for binary search. */
  private readonly starts: number[] = [];
  private readonly indices: number[] = [];

  constructor(files: readonly LayoutFile[]) {
    let offset = 0;
    files.forEach((f, i) => {
      if (f.offset !== offset || !Number.isSafeInteger(f.length) || f.length < 0) {
        throw new StorageError('invalid-argument', `file ${i} does not follow file ${i - 1} in piece space`);
      }
      if (f.length > 0) {
        this.starts.push(f.offset);
        this.indices.push(i);
      }
      offset += f.length;
    });
    this.files = files;
    this.totalLength = offset;
  }

  /** The extents covering `[offset, offset + length)` of piece space, in order. */
  extents(offset: number, length: number): FileExtent[] {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.totalLength) {
      throw new StorageError('invalid-argument', `range ${offset}+${length} is outside 0..${this.totalLength}`);
    }
    const out: FileExtent[] = [];
    const end = offset + length;
    for (let k = this.findStart(offset); offset < end; k++) {
      const fileIndex = this.indices[k]!;
      const file = this.files[fileIndex]!;
      const n = Math.min(end, file.offset + file.length) - offset;
      out.push({ fileIndex, fileOffset: offset - file.offset, length: n, pad: file.pad });
      offset += n;
    }
    return out;
  }

  /** Position in `starts` of the non-empty file holding byte `offset`. */
  private findStart(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
