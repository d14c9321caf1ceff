/**
 * Shared by the metainfo and CLI tests: build torrents from plain values, and run the compiled
 * CLI as a child process with a deadline (killed by PID when it overruns).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encode, type Encodable } from '../../src/bencode/index.js';
import { MetainfoError, parseTorrent } from '../../src/metainfo/index.js';

/** The build output root: this file is <outDir>/test/metainfo/helpers.js. */
export const OUT_DIR = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = path.join(OUT_DIR, 'src', 'cli', 'main.js');
export const CORPUS = path.resolve(process.cwd(), '../shared/corpus');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export function runCli(args: readonly string[], timeoutMs = 10_000): Promise<CliResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        resolve({ code, stdout, stderr, ms: Date.now() - started });
      },
    );
    child.on('error', reject);
  });
}

/** Runs an external tool (transmission-show, mktorrent...) with a deadline. */
export function runTool(file: string, args: readonly string[], timeoutMs = 20_000): Promise<CliResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = execFile(file, [...args], { timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
    child.on('error', () => undefined);
  });
}

export const sha1 = (b: Uint8Array): Buffer => createHash('sha1').update(b).digest();

export interface FileSpec {
  path: (string | Uint8Array)[];
  length: number;
  attr?: string;
}

/** A structurally valid v1 torrent; `info`/`root` entries override or add keys (undefined removes). */
export function makeTorrent(opts: {
  name?: string | Uint8Array;
  pieceLength?: number;
  length?: number;
  files?: FileSpec[];
  info?: Record<string, Encodable | undefined>;
  root?: Record<string, Encodable | undefined>;
}): Buffer {
  const pieceLength = opts.pieceLength ?? 16384;
  const total = opts.files ? opts.files.reduce((s, f) => s + f.length, 0) : (opts.length ?? 1000);
  const count = Math.ceil(total / pieceLength);
  const info: Record<string, Encodable | undefined> = {
    name: opts.name ?? 'test',
    'piece length': pieceLength,
    pieces: Buffer.alloc(count * 20, 7),
  };
  if (opts.files) info['files'] = opts.files.map((f) => (f.attr === undefined ? { length: f.length, path: f.path } : { length: f.length, path: f.path, attr: f.attr }));
  else info['length'] = total;
  return encode({ ...opts.root, info: { ...info, ...opts.info } });
}

/** Asserts that parsing `bytes` throws a one-line MetainfoError with `code` matching `pattern`. */
export function rejects(bytes: Uint8Array, code: string, pattern: RegExp): void {
  assert.throws(
    () => parseTorrent(bytes),
    (err: unknown) => err instanceof MetainfoError && err.code === code && pattern.test(err.message) && !err.message.includes('\n'),
  );
}
