import { createHash } from 'node:crypto';
import type { PieceGeometry } from './geometry.js';
import type { FileExtent, FileLayout, LayoutFile } from './layout.js';

/**
 * The part file: where the bytes of files nobody wants go when they share a piece with a
 * wanted file (libtorrent's `.parts` file). A piece is verified whole, so a wanted file's
 * first and last pieces need the neighbours' bytes too; those bytes must live somewhere
 * without creating the neighbour.
 *
 * Slots: every piece that holds bytes of two or more data files (a "shared" piece, fixed by
 * the torrent whatever the selection) has one slot of `pieceLength` bytes, numbered in piece
 * order; byte `k` of shared piece `p` lives at `slot(p) * pieceLength + k`. The map needs no
 * header and does not move when the selection changes, and the file holds at most one piece
 * per file boundary. It is hidden (dot-prefixed) in the output folder and removed once no file
 * is skipped.
 *
 * Which bytes go there is decided per file by the caller (`usePart`): a skipped file that does
 * not exist on disk writes to the part file, and a missing file is read from it. A piece of a
 * skipped file that is not shared (it was started before the file was skipped) goes to the
 * file itself: there is no slot for it.
 */

/** `.<digest of the piece hashes>.parts`, unless the caller names it (the session uses the info hash). */
export function defaultPartName(pieces: Uint8Array): string {
  return `.${createHash('sha1').update(pieces).digest('hex')}.parts`;
}

/** The session's name for a torrent's part file, as libtorrent names its own. */
export function partFileName(infoHashHex: string): string {
  return `.${infoHashHex}.parts`;
}

/** A run of bytes placed: in a file at `fileOffset`, or in the part file at `part`. */
export interface PlacedExtent extends FileExtent {
  /** Offset of this run inside the span asked for. */
  readonly at: number;
  /** Offset in the part file; undefined when the bytes are in the file itself (or padding). */
  readonly part: number | undefined;
}

export class PartMap {
  private readonly geometry: PieceGeometry;
  private readonly layout: FileLayout;
  /** Slot of each piece, -1 for a piece that is not shared. */
  private readonly slots: Int32Array;
  readonly slotCount: number;

  constructor(geometry: PieceGeometry, layout: FileLayout, files: readonly LayoutFile[]) {
    this.geometry = geometry;
    this.layout = layout;
    const n = geometry.pieceCount;
    const owners = new Uint8Array(n);
    for (const f of files) {
      if (f.pad || f.length === 0) continue;
      const first = Math.floor(f.offset / geometry.pieceLength);
      const last = Math.floor((f.offset + f.length - 1) / geometry.pieceLength);
      owners[first] = Math.min(2, owners[first]! + 1);
      if (last !== first) owners[last] = Math.min(2, owners[last]! + 1);
    }
    this.slots = new Int32Array(n).fill(-1);
    let slot = 0;
    for (let p = 0; p < n; p++) if (owners[p] === 2) this.slots[p] = slot++;
    this.slotCount = slot;
  }

  /** The piece holds bytes of two or more data files. */
  isShared(piece: number): boolean {
    return this.slots[piece]! >= 0;
  }

  /** Shared pieces that hold bytes of `file` (its first and last piece, when shared). */
  sharedPiecesOf(file: LayoutFile): number[] {
    if (file.pad || file.length === 0) return [];
    const first = Math.floor(file.offset / this.geometry.pieceLength);
    const last = Math.floor((file.offset + file.length - 1) / this.geometry.pieceLength);
    return [...new Set([first, last])].filter((p) => this.isShared(p));
  }

  /**
   * The extents of `[offset, offset + length)` of piece space, each placed: runs of files for
   * which `usePart` holds are cut at piece boundaries and sent to their slot, when their
   * piece has one.
   */
  place(offset: number, length: number, usePart: (fileIndex: number) => boolean): PlacedExtent[] {
    const out: PlacedExtent[] = [];
    let at = 0;
    for (const e of this.layout.extents(offset, length)) {
      if (e.pad || !usePart(e.fileIndex)) out.push({ ...e, at, part: undefined });
      else {
        const pl = this.geometry.pieceLength;
        for (let done = 0; done < e.length; ) {
          const pos = offset + at + done;
          const piece = Math.floor(pos / pl);
          const n = Math.min(e.length - done, (piece + 1) * pl - pos);
          const slot = this.slots[piece]!;
          const part = slot < 0 ? undefined : slot * pl + (pos - piece * pl);
          out.push({ fileIndex: e.fileIndex, fileOffset: e.fileOffset + done, length: n, pad: false, at: at + done, part });
          done += n;
        }
      }
      at += e.length;
    }
    return out;
  }
}
