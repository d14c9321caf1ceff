/**
 * File choices as Transmission's RPC and the API give them (lists of file indexes to want,
 * skip, or set a priority for), checked against the torrent's files and kept on the entry.
 */
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

/** Record the choices on the entry. */
export function applyFileChoices(entry: TorrentEntry, choices: FileChoices): void {
  const wanted = entry.wanted;
  const prio = entry.priorities;
  if (wanted === undefined || prio === undefined) return;
  for (const i of choices.wanted ?? []) wanted[i] = true;
  for (const i of choices.unwanted ?? []) wanted[i] = false;
  for (const i of choices.high ?? []) prio[i] = 1;
  for (const i of choices.normal ?? []) prio[i] = 0;
  for (const i of choices.low ?? []) prio[i] = -1;
}
