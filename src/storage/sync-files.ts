import fs from 'node:fs';
import { StorageError } from './errors.js';
import { PieceGeometry } from './geometry.js';
import { FileLayout } from './layout.js';
import { PartMap } from './part-file.js';
import { openSafeSync, toStorageError } from './safe-fs.js';
import type { StorageWorkerData } from './worker-protocol.js';

/**
 * A worker's own view of the torrent's files: lazily opened descriptors (an LRU, so a
 * torrent of 100 000 files cannot exhaust them), positional reads and writes of whole
 * extents. Synchronous on purpose: it runs only inside worker threads.
 */

const MAX_OPEN = 128;

interface OpenFile {
  readonly fd: number;
  readonly writable: boolean;
}

export class SyncFiles {
  readonly layout: FileLayout;
  readonly parts: PartMap;
  /** The part file's index for `write`/`read`: one past the torrent's files. */
  readonly partIndex: number;
  /** One byte per file, 1 when skipped. */
  skipped: Uint8Array;
  private readonly data: StorageWorkerData;
  /** Insertion order is recency order: a hit is deleted and re-inserted. */
  private readonly open = new Map<number, OpenFile>();

  constructor(data: StorageWorkerData) {
    this.data = data;
    this.layout = new FileLayout(data.files);
    this.parts = new PartMap(new PieceGeometry(data.pieceLength, data.totalLength), this.layout, data.files);
    this.partIndex = data.files.length;
    this.skipped = data.skipped;
  }

  /** The file is on disk (opened once found, so a later call costs nothing). */
  exists(fileIndex: number): boolean {
    return this.open.has(fileIndex) || this.fd(fileIndex, 'read') !== undefined;
  }

  /** Where a write to this file goes: the part file while it is skipped and absent. */
  writesToPart(fileIndex: number): boolean {
    return this.skipped[fileIndex] === 1 && !this.exists(fileIndex);
  }

  /** Writes all of `src` at `position` of the file, creating the file and its folders. */
  write(fileIndex: number, src: Uint8Array, position: number): void {
    const fd = this.fd(fileIndex, 'write')!;
    try {
      for (let done = 0; done < src.length; ) {
        done += fs.writeSync(fd, src, done, src.length - done, position + done);
      }
    } catch (err) {
      throw toStorageError(err, this.name(fileIndex));
    }
  }

  /**
   * Fills `dst` from `position` of the file; returns how many bytes the file had there
   * (less than `dst.length` when it is short, 0 when it is missing).
   */
  read(fileIndex: number, dst: Uint8Array, position: number): number {
    const fd = this.fd(fileIndex, 'read');
    if (fd === undefined) return 0;
    try {
      let done = 0;
      while (done < dst.length) {
        const n = fs.readSync(fd, dst, done, dst.length - done, position + done);
        if (n === 0) break;
        done += n;
      }
      return done;
    } catch (err) {
      throw toStorageError(err, this.name(fileIndex));
    }
  }

  closeAll(): void {
    for (const f of this.open.values()) fs.closeSync(f.fd);
    this.open.clear();
  }

  private fd(fileIndex: number, mode: 'read' | 'write'): number | undefined {
    const file = fileIndex === this.partIndex ? { components: this.data.partFile, pad: false } : this.data.files[fileIndex];
    if (file === undefined || file.pad) {
      throw new StorageError('invalid-argument', `file ${fileIndex} is not a data file`);
    }
    const cached = this.open.get(fileIndex);
    if (cached !== undefined) {
      this.open.delete(fileIndex);
      if (mode === 'read' || cached.writable) {
        this.open.set(fileIndex, cached);
        return cached.fd;
      }
      fs.closeSync(cached.fd);
    }
    const fd = openSafeSync(this.data.root, file.components, mode);
    if (fd === undefined) return undefined;
    this.open.set(fileIndex, { fd, writable: mode === 'write' });
    if (this.open.size > MAX_OPEN) {
      const [oldest, f] = this.open.entries().next().value as [number, OpenFile];
      this.open.delete(oldest);
      fs.closeSync(f.fd);
    }
    return fd;
  }

  private name(fileIndex: number): string {
    return (fileIndex === this.partIndex ? this.data.partFile : this.data.files[fileIndex]!.components).join('/');
  }
}
