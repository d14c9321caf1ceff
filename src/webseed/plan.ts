/**
 * From blocks to HTTP requests, pure arithmetic. The picker hands out 16 KiB blocks; a web
 * seed fetches them as byte ranges of the torrent's piece space: consecutive blocks (of one
 * piece or of consecutive pieces) become one run, and a run that crosses file boundaries
 * becomes one ranged GET per file. BEP 47 pad files are never requested: their bytes are
 * zeros, filled in locally.
 */
import { FileLayout, type LayoutFile } from '../storage/layout.js';
import type { BlockRequest } from '../swarm/picker-types.js';

/** A contiguous range of piece space and the blocks it carries, in order. */
export interface Run {
  readonly offset: number;
  readonly length: number;
  readonly blocks: readonly BlockRequest[];
}

/** Part of a run: bytes of one file fetched with a range request, or pad bytes (zeros). */
export type Segment =
  | { readonly kind: 'file'; readonly fileIndex: number; readonly start: number; readonly length: number }
  | { readonly kind: 'zeros'; readonly length: number };

/**
 * Groups blocks into runs of consecutive bytes, each at most `maxBytes` long (one block at
 * least). Blocks keep the order they were given in within a run; a gap starts a new run.
 */
export function toRuns(blocks: readonly BlockRequest[], pieceLength: number, maxBytes: number): Run[] {
  const sorted = [...blocks].sort((a, b) => a.piece - b.piece || a.begin - b.begin);
  const runs: Run[] = [];
  let cur: { offset: number; length: number; blocks: BlockRequest[] } | undefined;
  for (const b of sorted) {
    const offset = b.piece * pieceLength + b.begin;
    if (cur !== undefined && cur.offset + cur.length === offset && cur.length + b.length <= maxBytes) {
      cur.length += b.length;
      cur.blocks.push(b);
      continue;
    }
    cur = { offset, length: b.length, blocks: [b] };
    runs.push(cur);
  }
  return runs;
}

/** The torrent's files, for splitting runs into requests. */
export class RangePlanner {
  private readonly layout: FileLayout;

  constructor(files: readonly LayoutFile[]) {
    this.layout = new FileLayout(files);
  }

  /** The requests and zero fills covering `[offset, offset + length)`, in order. */
  segments(offset: number, length: number): Segment[] {
    const out: Segment[] = [];
    for (const e of this.layout.extents(offset, length)) {
      const last = out[out.length - 1];
      if (e.pad) {
        if (last?.kind === 'zeros') out[out.length - 1] = { kind: 'zeros', length: last.length + e.length };
        else out.push({ kind: 'zeros', length: e.length });
      } else {
        out.push({ kind: 'file', fileIndex: e.fileIndex, start: e.fileOffset, length: e.length });
      }
    }
    return out;
  }
}
