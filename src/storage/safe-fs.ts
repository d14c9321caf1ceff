import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { InfoDict } from '../metainfo/types.js';
import { StorageError } from './errors.js';

/**
 * Opening files inside the output folder without ever leaving it (SAFETY.md "Paths").
 * Defence in depth, each layer enough on its own for the common attacks:
 * 1. the joined path, resolved, must lie below `realpath(root)`;
 * 2. parent folders are walked one level at a time with `lstat`, and an existing symlink
 *    or non-folder is refused (missing ones are created one by one when writing);
 * 3. the file itself is opened with `O_NOFOLLOW | O_NONBLOCK` (no symlink, and a FIFO
 *    cannot block the thread), then `fstat` must show a regular file;
 * 4. on Linux, `/proc/self/fd/N` must name a path below the root, which catches a
 *    folder swapped for a symlink between the walk and the open.
 * Files are never truncated: a resumed download keeps its data. There is a sync flavour
 * for the worker threads and an async one for the main thread; they share the checks.
 */

export type OpenMode = 'read' | 'write';

const { O_RDONLY, O_RDWR, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
const FLAGS: Record<OpenMode, number> = {
  read: O_RDONLY | O_NOFOLLOW | O_NONBLOCK,
  write: O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK,
};
const FILE_MODE = 0o644;

/** The path components of a file below the output folder (multi-file torrents add `name/`). */
export function fileComponents(info: InfoDict, fileIndex: number): string[] {
  const file = info.files[fileIndex]!;
  return info.multiFile ? [info.name, ...file.path] : [...file.path];
}

/** The absolute path of `components` below `realRoot`, or `unsafe-path`. */
export function resolveInside(realRoot: string, components: readonly string[]): string {
  const shown = components.join('/');
  const bad = components.find((c) => c === '' || c === '.' || c === '..' || /[/\\\0]/.test(c));
  if (components.length === 0 || bad !== undefined) {
    throw new StorageError('unsafe-path', `refusing file "${shown}": unsafe path component`);
  }
  const full = path.resolve(path.join(realRoot, ...components));
  if (!full.startsWith(rootPrefix(realRoot))) {
    throw new StorageError('unsafe-path', `refusing file "${shown}": it resolves outside the output folder`);
  }
  return full;
}

/**
 * Opens a file for reading or writing. In read mode a missing file (or folder) is
 * `undefined`; in write mode missing folders and the file are created.
 */
export function openSafeSync(realRoot: string, components: readonly string[], mode: OpenMode): number | undefined {
  const full = resolveInside(realRoot, components);
  const shown = components.join('/');
  let dir = realRoot;
  for (const c of components.slice(0, -1)) {
    dir = path.join(dir, c);
    const st = lstatSync(dir, shown);
    if (st === undefined) {
      if (mode === 'read') return undefined;
      mkdirSync(dir, shown);
    } else checkFolder(st, shown);
  }
  let fd: number;
  try {
    fd = fs.openSync(full, FLAGS[mode], FILE_MODE);
  } catch (err) {
    if (mode === 'read' && errCode(err) === 'ENOENT') return undefined;
    throw openError(err, shown);
  }
  try {
    checkOpened(fs.fstatSync(fd), readFdLinkSync(fd), realRoot, shown);
  } catch (err) {
    fs.closeSync(fd);
    throw toStorageError(err, shown);
  }
  return fd;
}

const lstatP = promisify(fs.lstat);
const mkdirP = promisify(fs.mkdir);
const statP = promisify(fs.stat);
const openP = promisify(fs.open);
const fstatP = promisify(fs.fstat);
const closeP = promisify(fs.close);
export const closeFd = closeP;
const readlinkP = promisify(fs.readlink);

/** The async twin of `openSafeSync`, for the main thread (no blocking syscalls). */
export async function openSafe(realRoot: string, components: readonly string[], mode: OpenMode): Promise<number | undefined> {
  const full = resolveInside(realRoot, components);
  const shown = components.join('/');
  let dir = realRoot;
  for (const c of components.slice(0, -1)) {
    dir = path.join(dir, c);
    const st = await lstatP(dir).catch((err: unknown) => {
      if (errCode(err) === 'ENOENT') return undefined;
      throw toStorageError(err, shown);
    });
    if (st === undefined) {
      if (mode === 'read') return undefined;
      await mkdirP(dir).catch(async (err: unknown) => {
        if (errCode(err) !== 'EEXIST') throw toStorageError(err, shown);
        checkFolder(await lstatP(dir), shown);
      });
    } else checkFolder(st, shown);
  }
  let fd: number;
  try {
    fd = await openP(full, FLAGS[mode], FILE_MODE);
  } catch (err) {
    if (mode === 'read' && errCode(err) === 'ENOENT') return undefined;
    throw openError(err, shown);
  }
  try {
    const link = await readlinkP(`/proc/self/fd/${fd}`).catch(() => undefined);
    checkOpened(await fstatP(fd), link, realRoot, shown);
  } catch (err) {
    await closeP(fd);
    throw toStorageError(err, shown);
  }
  return fd;
}

/**
 * Refuses, before any file is created, a symlink or non-folder already sitting on the
 * folder path of any file; a symlink or non-regular file in the file's own place too.
 */
export async function checkExistingPath(realRoot: string, components: readonly string[]): Promise<void> {
  resolveInside(realRoot, components);
  const shown = components.join('/');
  let p = realRoot;
  for (let i = 0; i < components.length; i++) {
    p = path.join(p, components[i]!);
    const st = await lstatP(p).catch((err: unknown) => {
      if (errCode(err) === 'ENOENT') return undefined;
      throw toStorageError(err, shown);
    });
    if (st === undefined) return;
    if (i < components.length - 1) checkFolder(st, shown);
    else if (!st.isFile()) {
      throw new StorageError('unsafe-path', `refusing file "${shown}": a symlink or non-regular file is in its place`);
    }
  }
}

function rootPrefix(realRoot: string): string {
  return realRoot.endsWith(path.sep) ? realRoot : realRoot + path.sep;
}

function lstatSync(p: string, shown: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p, { throwIfNoEntry: false });
  } catch (err) {
    throw toStorageError(err, shown);
  }
}

function mkdirSync(dir: string, shown: string): void {
  try {
    fs.mkdirSync(dir);
  } catch (err) {
    // Another worker may have made it between our lstat and mkdir: check what is there.
    if (errCode(err) !== 'EEXIST') throw toStorageError(err, shown);
    const st = lstatSync(dir, shown);
    if (st === undefined) throw toStorageError(err, shown);
    checkFolder(st, shown);
  }
}

function checkFolder(st: fs.Stats, shown: string): void {
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw new StorageError('unsafe-path', `refusing file "${shown}": a folder on its path is a symlink or not a folder`);
  }
}

function readFdLinkSync(fd: number): string | undefined {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined; // no /proc (not Linux): layers 1–3 still hold
  }
}

function checkOpened(st: fs.Stats, link: string | undefined, realRoot: string, shown: string): void {
  if (!st.isFile()) {
    throw new StorageError('unsafe-path', `refusing file "${shown}": not a regular file`);
  }
  if (link !== undefined && !link.startsWith(rootPrefix(realRoot))) {
    throw new StorageError('unsafe-path', `refusing file "${shown}": it was opened outside the output folder`);
  }
}

function openError(err: unknown, shown: string): StorageError {
  // O_NOFOLLOW on a symlink fails with ELOOP; a file where a folder should be, ENOTDIR.
  const code = errCode(err);
  if (code === 'ELOOP' || code === 'ENOTDIR') {
    return new StorageError('unsafe-path', `refusing file "${shown}": a symlink or non-folder is in the way`, { cause: err });
  }
  return toStorageError(err, shown);
}

export function toStorageError(err: unknown, shown: string): StorageError {
  if (err instanceof StorageError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new StorageError('disk', `file "${shown}": ${detail}`, { cause: err });
}

export function errCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

/**
 * Creates `dir` and any missing parents one level at a time. Node 20's recursive `mkdir`
 * never returns on some filesystems (under /proc it retries an ENOENT forever); walking the
 * levels ourselves turns that into an error the user can read.
 */
export async function makeDirectory(dir: string): Promise<void> {
  const full = path.resolve(dir);
  const missing: string[] = [];
  for (let at = full; ; at = path.dirname(at)) {
    const st = await lstatP(at).catch((err: unknown) => {
      if (errCode(err) === 'ENOENT') return undefined;
      throw err;
    });
    if (st !== undefined) {
      if (!st.isDirectory() && !(st.isSymbolicLink() && (await statP(at)).isDirectory())) {
        throw new StorageError('disk', `'${at}' exists and is not a folder`);
      }
      break;
    }
    missing.push(at);
    if (path.dirname(at) === at) break;
  }
  for (const d of missing.reverse()) {
    await mkdirP(d).catch((err: unknown) => {
      if (errCode(err) !== 'EEXIST') throw err;
    });
  }
}
