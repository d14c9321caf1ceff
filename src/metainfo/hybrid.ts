/**
 * BEP 52 hybrid torrents carry both a v1 `files` list and a v2 `file tree`. Tessera uses the v1
 * half, but only after checking that both halves describe the same files: otherwise a v2 peer
 * and a v1 peer would download different content under one name (libtorrent
 * torrent_inconsistent_files). The v2 tree is walked iteratively with a depth bound.
 */
import { asBytes, asDict, asInt, type BDict } from '../bencode/index.js';
import { MetainfoError, quote } from './errors.js';

/** A v1 file before sanitizing: raw path components, as in the file. */
export interface RawFile {
  readonly path: readonly Uint8Array[];
  readonly length: number;
  readonly pad: boolean;
}

interface TreeLeaf {
  readonly path: string;
  readonly length: number;
}

const MAX_TREE_DEPTH = 256;

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

function fail(message: string): never {
  throw new MetainfoError('hybrid-inconsistent', `hybrid torrent: ${message}`);
}

/** Leaves of a v2 `file tree` in key order, paths as latin1 of the raw bytes joined by `/`. */
function walkTree(tree: BDict): TreeLeaf[] {
  const leaves: TreeLeaf[] = [];
  const stack: { node: BDict; path: string[] }[] = [{ node: tree, path: [] }];
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    const children: { node: BDict; path: string[] }[] = [];
    for (const [key, value] of node) {
      const child = asDict(value);
      if (child === undefined) fail(`'file tree' entry ${quote(path.concat(key).join('/'))} is not a dictionary`);
      if (key === '') {
        if (node.size !== 1 || path.length === 0) fail(`malformed 'file tree' leaf at ${quote(path.join('/'))}`);
        const length = asInt(child.get('length'));
        if (length === undefined || length < 0) fail(`invalid length in 'file tree' at ${quote(path.join('/'))}`);
        const root = asBytes(child.get('pieces root'));
        if (length > 0 && root?.length !== 32) fail(`missing or invalid 'pieces root' at ${quote(path.join('/'))}`);
        leaves.push({ path: path.join('/'), length });
      } else {
        if (path.length >= MAX_TREE_DEPTH) fail(`'file tree' deeper than ${MAX_TREE_DEPTH}`);
        children.push({ node: child, path: [...path, key] });
      }
    }
    // Pushed in reverse so the walk visits keys in file order.
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return leaves;
}

/**
 * Throws unless the v2 tree and the v1 list name the same files with the same lengths in the
 * same order, and every non-empty v1 file starts on a piece boundary (BEP 52 requires v1 pad
 * files for that alignment).
 */
export function checkHybrid(info: BDict, files: readonly RawFile[], pieceLength: number): void {
  if (pieceLength < 16384 || (pieceLength & (pieceLength - 1)) !== 0) {
    fail(`piece length ${pieceLength} is not a power of two of at least 16 KiB`);
  }
  const tree = asDict(info.get('file tree'));
  if (tree === undefined) fail("missing 'file tree'");
  const leaves = walkTree(tree);
  const real = files.filter((f) => !f.pad);
  if (leaves.length !== real.length) fail(`v1 lists ${real.length} files but the v2 tree has ${leaves.length}`);
  let offset = 0;
  let r = 0;
  for (const f of files) {
    if (!f.pad) {
      const leaf = leaves[r++]!;
      if (f.path.map(latin1).join('/') !== leaf.path || f.length !== leaf.length) {
        fail(`v1 file ${r} does not match the v2 tree`);
      }
      if (f.length > 0 && offset % pieceLength !== 0) fail(`v1 file ${r} does not start on a piece boundary`);
    }
    offset += f.length;
  }
}
