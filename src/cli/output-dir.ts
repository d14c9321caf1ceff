/**
 * The output folder (`-o`) is checked before any network work: a folder that cannot be
 * written would otherwise surface minutes later, after peers were found and pieces fetched.
 * `-o` naming a file is a usage error (2); a folder that cannot be created or written is a
 * disk error (4).
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { makeDirectory } from '../storage/safe-fs.js';
import { CliError, ExitCode, safeText } from './context.js';

function code(err: unknown): string {
  return String((err as { code?: unknown }).code ?? (err instanceof Error ? err.message : err));
}

/** Creates the folder when missing; throws `CliError` unless it is a folder we can write. */
export async function ensureWritableFolder(dir: string, flag = '-o'): Promise<void> {
  const st = await stat(dir).catch(() => undefined);
  if (st !== undefined && !st.isDirectory()) throw new CliError(ExitCode.usage, `${flag} names a file, not a folder: ${safeText(dir)}`);
  try {
    if (st === undefined) await makeDirectory(dir);
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new CliError(ExitCode.disk, `cannot write to the output folder ${safeText(dir)} (${code(err)})`, { cause: err });
  }
}
