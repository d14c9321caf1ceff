/**
 * `--select LIST`, `--only GLOB` and `--exclude GLOB`: which files of a torrent to download.
 *
 * Files are numbered from 0 as `tessera info` lists them (padding files are not numbered).
 * `--select` keeps the listed indices and ranges (`0,2-4`, as BEP 53's `so=`); `--only`
 * then keeps the files that match one of its globs, and `--exclude` drops those that match one
 * of its globs. A glob without `/` matches a file's name, one with `/` its path below the
 * torrent's folder; `*` is any run of characters but `/`, `**` any run including `/`, `?`
 * one character but `/`. The rest is skipped (`TorrentHandle.setFilePriorities`).
 */
import type { FilePriority, TorrentFile } from '../session/index.js';
import { CliError, ExitCode } from './context.js';

export interface FileSelection {
  readonly select: readonly number[] | undefined;
  readonly only: readonly Glob[];
  readonly exclude: readonly Glob[];
}

export interface Glob {
  readonly re: RegExp;
  /** The pattern has a `/`: it matches the path below the torrent's folder, else the name. */
  readonly path: boolean;
}

/** Bounds `--select`: an index past this is no torrent's (BEP 53 links use the same bound). */
const MAX_INDEX = 1_000_000;
/** Bounds the expansion of ranges. */
const MAX_SELECTED = 100_000;
const MAX_GLOB = 1024;

/** The selection of the command line, or undefined when no option was given. */
export function parseFileSelection(values: { select?: string | undefined; only: readonly string[]; exclude: readonly string[] }): FileSelection | undefined {
  if (values.select === undefined && values.only.length === 0 && values.exclude.length === 0) return undefined;
  return {
    select: values.select === undefined ? undefined : parseIndexList(values.select),
    only: values.only.map((g) => globToRegExp(g, '--only')),
    exclude: values.exclude.map((g) => globToRegExp(g, '--exclude')),
  };
}

/** `0,2-4` → [0, 2, 3, 4]; anything else is a usage error naming `--select`. */
export function parseIndexList(value: string): number[] {
  const out = new Set<number>();
  for (const part of value.split(',')) {
    const m = /^\s*(\d{1,7})(?:\s*-\s*(\d{1,7}))?\s*$/.exec(part);
    const from = Number(m?.[1]);
    const to = m?.[2] === undefined ? from : Number(m[2]);
    if (m === null || to < from || to > MAX_INDEX) {
      throw new CliError(ExitCode.usage, `--select wants file indices and ranges such as 0,2-4, got '${value}'`);
    }
    for (let i = from; i <= to; i++) {
      if (out.size >= MAX_SELECTED) throw new CliError(ExitCode.usage, `--select: more than ${MAX_SELECTED} files`);
      out.add(i);
    }
  }
  return [...out].sort((a, b) => a - b);
}

/** A glob as an anchored RegExp; every other character stands for itself. */
export function globToRegExp(glob: string, flag: string): Glob {
  if (glob.length === 0 || glob.length > MAX_GLOB) throw new CliError(ExitCode.usage, `${flag} wants a pattern of 1 to ${MAX_GLOB} characters`);
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` also matches no folder at all.
      if (glob[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
  }
  return { re: new RegExp(`^${re}$`, 'u'), path: glob.includes('/') };
}

/**
 * One priority per file of `files` (as `TorrentHandle.files()` lists them): `normal` for the
 * selected, `skip` for the rest. `torrentName` is stripped from multi-file paths so that globs
 * see the path below the torrent's folder. A usage error when an index is out of range or
 * nothing is left.
 */
export function selectionPriorities(sel: FileSelection, files: readonly TorrentFile[], torrentName: string, multiFile: boolean): FilePriority[] {
  const bad = sel.select?.find((i) => i >= files.length);
  if (bad !== undefined) throw new CliError(ExitCode.usage, `--select ${bad}: the torrent has ${files.length} file(s), numbered from 0`);
  const select = sel.select === undefined ? undefined : new Set(sel.select);
  const chosen = files.map((f, i) => {
    const inner = multiFile ? f.path.slice(torrentName.length + 1) : f.path;
    const name = inner.slice(inner.lastIndexOf('/') + 1);
    const matches = (g: Glob): boolean => g.re.test(g.path ? inner : name);
    if (select !== undefined && !select.has(i)) return false;
    if (sel.only.length > 0 && !sel.only.some(matches)) return false;
    return !sel.exclude.some(matches);
  });
  if (!chosen.includes(true)) throw new CliError(ExitCode.usage, 'the file selection (--select, --only, --exclude) leaves no file to download');
  return chosen.map((c) => (c ? 'normal' : 'skip'));
}
