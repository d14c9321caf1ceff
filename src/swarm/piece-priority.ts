/**
 * File priorities and the piece priorities the picker works with.
 *
 * A file is `skip` (never fetched), `low`, `normal` (the default) or `high`. A piece takes
 * the highest priority of the files it holds bytes of, so a piece shared by a skipped file
 * and a wanted one is fetched whole (its skipped bytes go to the storage's part file). The
 * picker starts new pieces of the highest level first, and never starts a `skip` piece.
 *
 * Levels are small integers so that the picker can keep one byte per piece:
 * skip 0 < low 1 < normal 2 < high 3. Transmission's three levels map one to one; libtorrent's
 * 0..7 map as 0 → skip, 1-3 → low, 4 → normal, 5-7 → high.
 */
import { PickerError } from './picker-types.js';

export type FilePriority = 'skip' | 'low' | 'normal' | 'high';

export const FILE_PRIORITIES: readonly FilePriority[] = ['skip', 'low', 'normal', 'high'];

export const SKIP = 0;
export const NORMAL = 2;
export const HIGHEST = 3;

export function priorityLevel(p: FilePriority): number {
  const level = FILE_PRIORITIES.indexOf(p);
  if (level < 0) throw new PickerError('picker-options', `unknown file priority "${String(p)}"`);
  return level;
}

export interface PriorityFile {
  readonly offset: number;
  readonly length: number;
  /** BEP 47 padding: has no priority of its own. */
  readonly pad: boolean;
}

/**
 * One level per piece from one per file (`levels[i]` for `files[i]`). A piece holding only
 * padding (or only empty files) takes the highest level of any file, so that it is wanted as
 * soon as anything is. O(pieces + files).
 */
export function piecePriorities(files: readonly PriorityFile[], levels: readonly number[], pieceLength: number, pieceCount: number): Uint8Array {
  if (levels.length !== files.length) throw new PickerError('picker-options', `${levels.length} file priorities for ${files.length} files`);
  const out = new Uint8Array(pieceCount);
  const touched = new Uint8Array(pieceCount);
  let highest = SKIP;
  files.forEach((f, i) => {
    const level = levels[i]!;
    if (!Number.isInteger(level) || level < SKIP || level > HIGHEST) throw new PickerError('picker-options', `file ${i}: priority level ${level}`);
    if (f.pad || f.length === 0) return;
    highest = Math.max(highest, level);
    const last = Math.floor((f.offset + f.length - 1) / pieceLength);
    for (let p = Math.floor(f.offset / pieceLength); p <= last; p++) {
      touched[p] = 1;
      if (level > out[p]!) out[p] = level;
    }
  });
  for (let p = 0; p < pieceCount; p++) if (touched[p] === 0) out[p] = highest;
  return out;
}
