/**
 * Which files of a torrent are wanted, and how much: the levels per entry of `info.files`
 * (piece-priority.ts), their projection on pieces, and the bytes they leave to fetch. A torrent
 * whose files are all at the normal level has no selection at all.
 */
import type { InfoDict } from '../metainfo/types.js';
import { NORMAL, SKIP, piecePriorities } from '../swarm/piece-priority.js';
import type { Bitfield } from '../util/bitfield.js';

type PieceGeometry = Pick<InfoDict, 'pieceLength' | 'length' | 'pieceCount'>;

export class FileSelection {
  /** One level per entry of `info.files`. */
  readonly levels: readonly number[];
  /** The highest level of the files each piece touches. */
  readonly pieceLevels: Uint8Array;
  /** Bytes of the pieces not skipped. */
  readonly wantedBytes: number;

  private constructor(private readonly info: PieceGeometry, levels: readonly number[], pieceLevels: Uint8Array) {
    this.levels = [...levels];
    this.pieceLevels = pieceLevels;
    let wanted = 0;
    for (let p = 0; p < info.pieceCount; p++) if (pieceLevels[p] !== SKIP) wanted += pieceBytes(info, p);
    this.wantedBytes = wanted;
  }

  /** The selection `levels` make, or undefined when every file is at the normal level. */
  static of(info: InfoDict, levels: readonly number[]): FileSelection | undefined {
    if (levels.every((l) => l === NORMAL)) return undefined;
    return new FileSelection(info, levels, piecePriorities(info.files, levels, info.pieceLength, info.pieceCount));
  }

  /** Verified bytes of the pieces not skipped. */
  verifiedBytes(have: Bitfield): number {
    let bytes = 0;
    for (let p = 0; p < this.info.pieceCount; p++) if (this.pieceLevels[p] !== SKIP && have.has(p)) bytes += pieceBytes(this.info, p);
    return bytes;
  }
}

/** Per entry of `info.files`: true for a file not to download. */
export function skipFlags(info: InfoDict, selection: FileSelection | undefined): boolean[] {
  return info.files.map((_, i) => selection?.levels[i] === SKIP);
}

function pieceBytes(info: PieceGeometry, p: number): number {
  return p === info.pieceCount - 1 ? info.length - p * info.pieceLength : info.pieceLength;
}

/** Bytes of `count` verified pieces, `hasLast` telling whether the short last piece is one of them. */
export function bytesOf(count: number, hasLast: boolean, pieceLength: number, total: number, pieceCount: number): number {
  if (count === 0) return 0;
  const last = total - (pieceCount - 1) * pieceLength;
  return hasLast ? (count - 1) * pieceLength + last : count * pieceLength;
}
