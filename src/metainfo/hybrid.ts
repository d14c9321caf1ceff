/**
 * BEP 52 hybrid torrents carry both a v1 `files` list and a v2 `file tree`. Tessera uses the v1
 * half, but only after checking that both halves describe the same files: otherwise a v2 peer
 * and a v1 peer would download different content under one name (libtorrent
 * torrent_inconsistent_files).
 */
import { MetainfoError } from './errors.js';
import type { TreeFile } from './file-tree.js';

/** A v1 file before sanitizing: raw path components, as in the file. */
export interface RawFile {
  readonly path: readonly Uint8Array[];
  readonly length: number;
  readonly pad: boolean;
}

/**
 * Throws unless the v2 tree and the v1 list name the same files with the same lengths in the
 * same order, and every non-empty v1 file starts on a piece boundary (BEP 52 requires v1 pad
 * files for that alignment). Returns, for each file of the tree, the index of its v1 twin.
 */
export function checkHybrid(tree: readonly TreeFile[], files: readonly RawFile[], pieceLength: number): number[] {
  const real = files.filter((f) => !f.pad);
  if (tree.length !== real.length) fail(`v1 lists ${real.length} files but the v2 tree has ${tree.length}`);
  const twins: number[] = [];
  let offset = 0;
  for (const [i, f] of files.entries()) {
    if (!f.pad) {
      const leaf = tree[twins.length]!;
      twins.push(i);
      if (!samePath(f.path, leaf.path) || f.length !== leaf.length) fail(`v1 file ${twins.length} does not match the v2 tree`);
      if (f.length > 0 && offset % pieceLength !== 0) fail(`v1 file ${twins.length} does not start on a piece boundary`);
    }
    offset += f.length;
  }
  return twins;
}

function samePath(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  return a.length === b.length && a.every((c, i) => Buffer.compare(c, b[i]!) === 0);
}

function fail(message: string): never {
  throw new MetainfoError('hybrid-inconsistent', `hybrid torrent: ${message}`);
}
