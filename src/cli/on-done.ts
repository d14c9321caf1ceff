/**
 * `--on-done CMD`: run a command when a download completes, as aria2c's
 * `--on-download-complete` and transmission-cli's `-f` do. CMD is a shell command line; the
 * output path is its first argument (`$1`), never spliced into the text, so a torrent's name
 * cannot inject shell syntax. It also gets TESSERA_PATH, TESSERA_NAME and TESSERA_INFO_HASH in
 * its environment. Its output goes to our standard error (standard output may carry `--json`).
 */
import { spawn } from 'node:child_process';

export interface DoneInfo {
  /** The downloaded file or folder. */
  readonly path: string;
  readonly name: string;
  readonly infoHash: string;
}

/** Resolves with the command's exit code (or a signal name); rejects only when it cannot be started. */
export function runOnDone(command: string, info: DoneInfo, signal?: AbortSignal): Promise<number | string> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', `${command} "$1"`, 'sh', info.path], {
      stdio: ['ignore', 2, 2],
      env: { ...process.env, TESSERA_PATH: info.path, TESSERA_NAME: info.name, TESSERA_INFO_HASH: info.infoHash },
      ...(signal !== undefined ? { signal } : {}),
    });
    child.once('error', reject);
    child.once('exit', (code, sig) => resolve(code ?? sig ?? 'unknown'));
  });
}
