/**
 * The v2 half of a torrent (BEP 52): the piece space of a v2-only torrent (every non-empty file
 * starts on a piece boundary, with pad files in the gaps as libtorrent lays them out, the last
 * one included), the `piece layers` checked against each file's `pieces root`, and the table
 * of merkle hashes that verifies each piece.
 */
import { asBytes, asDict, type BDict } from '../bencode/index.js';
import { toHex } from '../util/bytes.js';
import { MetainfoError } from './errors.js';
import type { FileTable } from './file-table.js';
import type { TreeFile } from './file-tree.js';
import { HASH_SIZE, pieceLeaves, rootFromLayer } from './merkle.js';
import { PathRegistry } from './path-registry.js';
import { sanitizePath } from './safe-path.js';
import type { FileEntry, MerklePieces, V2File } from './types.js';

function fail(code: string, message: string): never {
  throw new MetainfoError(code, message);
}

/** Piece length as BEP 52 requires it: a power of two of at least 16 KiB. */
export function checkV2PieceLength(pieceLength: number): void {
  if (pieceLength < 16384 || (pieceLength & (pieceLength - 1)) !== 0) {
    fail('piece-length', `v2 'piece length' ${pieceLength} is not a power of two of at least 16 KiB`);
  }
}

function padEntry(offset: number, length: number): FileEntry {
  return { path: ['.pad', String(length)], length, offset, pad: true, attr: 'p' };
}

/**
 * v1-style file entries for a v2-only tree: sanitized paths and a pad after every non-empty
 * file that does not end on a piece boundary. `twins[i]` is the entry of tree file i.
 */
export function v2Entries(tree: readonly TreeFile[], pieceLength: number, notes: string[]): { entries: FileEntry[]; twins: number[]; total: number } {
  const registry = new PathRegistry();
  const entries: FileEntry[] = [];
  const twins: number[] = [];
  let total = 0;
  for (const [i, f] of tree.entries()) {
    const where = `file tree[${i}]`;
    const path = registry.claim(sanitizePath(f.path, where, notes), where, notes);
    const symlinkPath = f.symlinkPath === undefined ? undefined : sanitizePath(f.symlinkPath, `${where}.symlink path`, notes);
    twins.push(entries.length);
    entries.push({ path, length: f.length, offset: total, pad: false, attr: f.attr, ...(symlinkPath === undefined ? {} : { symlinkPath }) });
    total += f.length;
    if (total > Number.MAX_SAFE_INTEGER) fail('invalid-length', `total length exceeds 2^53 at ${where}`);
    const tail = total % pieceLength;
    if (tail !== 0) {
      entries.push(padEntry(total, pieceLength - tail));
      total += pieceLength - tail;
    }
  }
  return { entries, twins, total };
}

/**
 * The v2 files with their piece layers from the root dictionary's `piece layers`. A layer of
 * the wrong size or one that does not hash to its file's root is refused, as is an entry that
 * belongs to no file; a missing layer is allowed (it can be fetched from peers) and reported
 * through `layersComplete`.
 */
export function v2Files(
  tree: readonly TreeFile[],
  table: FileTable,
  twins: readonly number[],
  pieceLength: number,
  layersValue: BDict | undefined,
): { files: V2File[]; layersComplete: boolean } {
  const layers = new Map<string, Uint8Array>();
  for (const [key, value] of layersValue ?? []) {
    const bytes = asBytes(value) ?? fail('piece-layers', "a 'piece layers' entry is not a string");
    if (bytes.length === 0 || bytes.length % HASH_SIZE !== 0) fail('piece-layers', `a piece layer of ${bytes.length} bytes is not a multiple of 32`);
    layers.set(Buffer.from(key, 'latin1').toString('hex'), bytes);
  }
  const files: V2File[] = [];
  const used = new Set<string>();
  let layersComplete = true;
  for (const [i, f] of tree.entries()) {
    if (f.root === undefined) continue;
    const pieceCount = Math.ceil(f.length / pieceLength);
    const key = toHex(f.root);
    let layer: Uint8Array | undefined;
    if (f.length > pieceLength) {
      layer = layers.get(key);
      if (layer === undefined) layersComplete = false;
      else {
        used.add(key);
        if (layer.length !== pieceCount * HASH_SIZE) {
          fail('piece-layers', `the piece layer of file ${i + 1} holds ${layer.length / HASH_SIZE} hashes, not ${pieceCount}`);
        }
        if (!rootFromLayer(layer, pieceLength).equals(f.root)) fail('piece-layers', `the piece layer of file ${i + 1} does not hash to its 'pieces root'`);
      }
    }
    files.push({ fileIndex: twins[i]!, length: f.length, firstPiece: table.offset(twins[i]!) / pieceLength, pieceCount, root: f.root, layer });
  }
  for (const key of layers.keys()) {
    if (!used.has(key)) fail('piece-layers', `'piece layers' has an entry for no multi-piece file (${key.slice(0, 16)}...)`);
  }
  return { files, layersComplete };
}

/** Per-piece merkle hashes of a v2-only torrent; pieces of files without a layer stay zero. */
export function merklePieces(files: readonly V2File[], pieceLength: number, pieceCount: number): MerklePieces {
  const hashes = new Uint8Array(pieceCount * HASH_SIZE);
  const leaves = new Uint32Array(pieceCount);
  const dataLength = new Uint32Array(pieceCount);
  for (const f of files) {
    for (let p = 0; p < f.pieceCount; p++) {
      const piece = f.firstPiece + p;
      leaves[piece] = pieceLeaves(f.length, pieceLength);
      dataLength[piece] = Math.min(pieceLength, f.length - p * pieceLength);
      if (f.pieceCount === 1) hashes.set(f.root, piece * HASH_SIZE);
      else if (f.layer !== undefined) hashes.set(f.layer.subarray(p * HASH_SIZE, (p + 1) * HASH_SIZE), piece * HASH_SIZE);
    }
  }
  return { hashes, leaves, dataLength };
}

/** The root dictionary's `piece layers`, if it is a dictionary. */
export function pieceLayersOf(root: BDict): BDict | undefined {
  if (root.has('piece layers') && asDict(root.get('piece layers')) === undefined) fail('piece-layers', "'piece layers' is not a dictionary");
  return asDict(root.get('piece layers'));
}
