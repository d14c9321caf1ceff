/**
 * `tessera create <file-or-folder> -o out.torrent [--tracker URL]... [--piece-length N]
 * [--private] [--comment S] [--web-seed URL]... [--source S] [--v2 | --hybrid]`. Each
 * `--tracker` is its own BEP 12 tier; `--tracker a,b` makes one tier of several URLs. v1 is the
 * default: every client reads it; `--v2` and `--hybrid` make BEP 52 torrents.
 */
import { writeFile } from 'node:fs/promises';
import { createTorrent } from '../../metainfo/create.js';
import { parseTorrent } from '../../metainfo/torrent.js';
import type { Metainfo } from '../../metainfo/types.js';
import { PieceHasher } from '../../storage/index.js';
import { CliError, ExitCode, humanBytes, safeText, type CliContext, type Command } from '../context.js';
import { parseCommandLine } from '../options.js';
import { createSpec } from '../specs.js';

/** Inputs at least this big get a progress line (when stderr is a terminal). */
const PROGRESS_THRESHOLD = 64 * 1024 * 1024;

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kib: 1024, kb: 1024, m: 1024 ** 2, mib: 1024 ** 2, mb: 1024 ** 2 };

/** `262144`, `256k`, `256KiB`, `4MiB` -> bytes. */
export function parsePieceLength(s: string): number {
  const m = /^(\d{1,10})\s*([a-z]*)$/i.exec(s.trim());
  const unit = m === null ? undefined : UNITS[m[2]!.toLowerCase()];
  if (m === null || unit === undefined) throw new CliError(ExitCode.usage, `invalid --piece-length ${JSON.stringify(s)} (e.g. 262144, 256KiB, 4MiB)`);
  return Number(m[1]) * unit;
}

function hashesText(meta: Metainfo): string {
  if (meta.v2 === undefined) return `info hash ${meta.infoHashHex}`;
  return meta.hybrid ? `info hash ${meta.infoHashHex}, v2 info hash ${meta.v2.infoHashHex}` : `v2 info hash ${meta.v2.infoHashHex}`;
}

export const createCommand: Command = async (argv: string[], ctx: CliContext): Promise<number> => {
  const { values, positionals } = parseCommandLine(argv, createSpec);
  const input = positionals[0]!;
  if (values.output === undefined) throw new CliError(ExitCode.usage, "create needs -o FILE, where to write the .torrent file (see 'tessera create --help')");
  const output = values.output;
  if (values.v2 && values.hybrid) throw new CliError(ExitCode.usage, '--v2 and --hybrid exclude each other (--hybrid already holds a v2 half)');
  const trackers = values.tracker.map((t) => t.split(',').map((u) => u.trim()).filter((u) => u !== ''));
  const showProgress = ctx.stderr.isTTY === true;
  let lastShown = -1;
  // SHA-1 dominates creation time: hash on worker threads. PieceHasher copies each piece
  // before it returns, as createTorrent requires of a hasher (the read buffer is reused).
  const hasher = new PieceHasher();
  let bytes: Buffer;
  try {
    bytes = await createTorrent(input, {
      trackers,
      ...(values['piece-length'] === undefined ? {} : { pieceLength: parsePieceLength(values['piece-length']) }),
      private: values.private,
      ...(values.comment === undefined ? {} : { comment: values.comment }),
      ...(values['web-seed'].length === 0 ? {} : { webSeeds: values['web-seed'] }),
      ...(values.source === undefined ? {} : { source: values.source }),
      version: values.v2 ? 'v2' : values.hybrid ? 'hybrid' : 'v1',
      hasher,
      signal: ctx.signal,
      onProgress: (done, total) => {
        if (!showProgress || total < PROGRESS_THRESHOLD) return;
        const pct = Math.floor((done / total) * 100);
        if (pct === lastShown) return;
        lastShown = pct;
        ctx.stderr.write(`\rhashing ${pct}% (${humanBytes(done)} of ${humanBytes(total)})${done === total ? '\n' : ''}`);
      },
    });
  } finally {
    await hasher.close();
  }
  try {
    await writeFile(output, bytes);
  } catch (err) {
    throw new CliError(ExitCode.disk, `cannot write ${safeText(output)} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
  }
  const meta = parseTorrent(bytes);
  ctx.stdout.write(
    `created ${safeText(output)}: ${safeText(meta.info.name)}, ${meta.info.files.filter((f) => !f.pad).length} file(s), ` +
      `${humanBytes(meta.info.length)}, ${meta.info.pieceCount} pieces of ${humanBytes(meta.info.pieceLength)}, ${hashesText(meta)}\n`,
  );
  return ExitCode.ok;
};
