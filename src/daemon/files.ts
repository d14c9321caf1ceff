/**
 * File choices as Transmission's RPC and the API give them (lists of file indexes to want,
 * skip, or set a priority for), checked against the torrent's files, kept on the entry and
 * handed to the session as one priority per file (an unwanted file is `skip`).
 */
import type { FilePriority } from '../session/index.js';
import { DaemonError } from './errors.js';
import type { TorrentEntry } from './entry.js';

export interface FileChoices {
  readonly wanted?: readonly number[];
  readonly unwanted?: readonly number[];
  readonly high?: readonly number[];
  readonly normal?: readonly number[];
  readonly low?: readonly number[];
}

/** Every index names a file (0 to count − 1). */
export function checkFileChoices(choices: FileChoices, count: number): void {
  for (const list of [choices.wanted, choices.unwanted, choices.high, choices.normal, choices.low]) {
    for (const i of list ?? []) {
      if (!Number.isInteger(i) || i < 0 || i >= count) throw new DaemonError('bad-request', `file index ${String(i)} is out of range (the torrent has ${count} files)`);
    }
  }
}

/** Record the choices on the entry and apply the entry's choices to its torrent (once its files are known). */
export async function applyFileChoices(entry: TorrentEntry, choices: FileChoices): Promise<void> {
  const wanted = entry.wanted;
  const prio = entry.priorities;
  if (wanted === undefined || prio === undefined || entry.handle.metainfo === undefined) return;
  for (const i of choices.wanted ?? []) wanted[i] = true;
  for (const i of choices.unwanted ?? []) wanted[i] = false;
  for (const i of choices.high ?? []) prio[i] = 1;
  for (const i of choices.normal ?? []) prio[i] = 0;
  for (const i of choices.low ?? []) prio[i] = -1;
  const levels: FilePriority[] = wanted.map((w, i) => (!w ? 'skip' : prio[i] === 1 ? 'high' : prio[i] === -1 ? 'low' : 'normal'));
  const current = entry.handle.files().map((f) => f.priority);
  if (levels.length === current.length && levels.every((l, i) => l === current[i])) return;
  await entry.handle.setFilePriorities(levels);
}
