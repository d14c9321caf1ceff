/**
 * .torrent parsing and validation (BEP 3 v1 metainfo, with BEP 12 tiers, BEP 19 web seeds,
 * BEP 27 private flag, BEP 47 pad files/attributes/symlinks, and BEP 52 v2-only and hybrid
 * torrents: a v2-only torrent is laid out in v1's piece space with pad files, see v2.ts).
 *
 * Bencode is decoded in tolerant mode: the non-canonical forms mature clients load become
 * warnings, and the info hash is SHA-1 over the `info` dictionary's exact byte span, never a
 * re-encoding. Every SAFETY.md limit is checked before anything is sized from it.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { BencodeError, asBytes, asDict, asInt, decodeDetailed, type BDict, type DecodeResult } from '../bencode/index.js';
import { toHex } from '../util/bytes.js';
import { parseTrackers, parseWebSeeds } from './announce.js';
import { MetainfoError, quote } from './errors.js';
import { walkFileTree } from './file-tree.js';
import { lengthField, MAX_FILES, readFileList, takePlainList, type ParsedFiles, type PlainList } from './file-list.js';
import { FileTable } from './file-table.js';
import { checkHybrid } from './hybrid.js';
import { decodeUtf8Strict, sanitizeComponent } from './safe-path.js';
import type { InfoDict, Metainfo } from './types.js';
import { checkV2PieceLength, merklePieces, pieceLayersOf, v2Entries, v2Files } from './v2.js';

export const MAX_TORRENT_FILE_BYTES = 10 * 1024 * 1024;
export const MAX_PIECE_LENGTH = 2 ** 29;
export const MAX_PIECES = 2 ** 21;
/** v1 nests at most 6 levels; hybrid file trees need more, but not 1,000 (v2_deep_recursion). */
const MAX_DEPTH = 100;
const MAX_WARNINGS = 50;

function fail(code: string, message: string): never {
  throw new MetainfoError(code, message);
}

function buffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function utf8(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
}

/** A text field, preferring a valid `<key>.utf-8` twin (non-standard, but common). */
function textField(dict: BDict, key: string): string | undefined {
  const alt = asBytes(dict.get(`${key}.utf-8`));
  const altText = alt === undefined ? undefined : decodeUtf8Strict(alt);
  if (altText !== undefined) return altText;
  const b = asBytes(dict.get(key));
  return b === undefined ? undefined : utf8(b);
}

function parseName(info: BDict, infoHashHex: string, notes: string[]): { name: string; raw: Uint8Array } {
  const raw = asBytes(info.get('name')) ?? fail('missing-name', "missing or invalid 'name'");
  const alt = asBytes(info.get('name.utf-8'));
  const source = alt !== undefined && decodeUtf8Strict(alt) !== undefined ? alt : raw;
  const name = sanitizeComponent(source, 'name', notes);
  if (name !== undefined) return { name, raw };
  notes.push(`name replaced by the info hash ${infoHashHex}`);
  return { name: infoHashHex, raw };
}

/** Refuses a v2 info dictionary that is not canonical bencode. */
function strictInfo(infoBytes: Uint8Array): void {
  try {
    decodeDetailed(infoBytes, { strict: true, maxDepth: MAX_DEPTH });
  } catch (err) {
    if (err instanceof BencodeError) throw new MetainfoError('bencode', `invalid v2 info dictionary: ${err.message}`, { cause: err });
    throw err;
  }
}

/** Parse and validate a .torrent file's bytes. Throws MetainfoError (only) on bad input. */
export function parseTorrent(bytes: Uint8Array): Metainfo {
  if (bytes.length > MAX_TORRENT_FILE_BYTES) {
    fail('too-large', `torrent file is ${bytes.length} bytes (limit ${MAX_TORRENT_FILE_BYTES})`);
  }
  let decoded: DecodeResult;
  // File lists read in the decoder's pass, by where they start (any dictionary value at depth 2 named `files`).
  const plainLists = new Map<number, PlainList>();
  const take = (input: Buffer, start: number): PlainList | undefined => {
    const list = takePlainList(input, start);
    if (list !== undefined) plainLists.set(start, list);
    return list;
  };
  try {
    // The v1 file list is read in place by readFileList: building it would cost ~6 objects a
    // file. A plain one is read in the decoder's pass, which then need not scan it.
    decoded = decodeDetailed(bytes, { strict: false, maxDepth: MAX_DEPTH, skip: (key, depth) => depth === 2 && key === 'files', take });
  } catch (err) {
    if (err instanceof BencodeError) throw new MetainfoError('bencode', `invalid torrent file: ${err.message}`, { cause: err });
    throw err;
  }
  const notes: string[] = decoded.warnings.map((w) => `non-canonical bencode: ${w}`);
  const root = asDict(decoded.value) ?? fail('not-a-dict', 'invalid torrent file: the root is not a dictionary');
  const info = asDict(root.get('info')) ?? fail('missing-info', "missing or invalid 'info' dictionary");
  const infoBytes = bytes.subarray(info.start, info.end);
  const infoHash = createHash('sha1').update(infoBytes).digest();

  const version = info.get('meta version');
  if (version !== undefined && version !== 1 && version !== 2) fail('meta-version', `unsupported 'meta version' ${String(asInt(version) ?? '?')}`);
  const isV2 = version === 2;
  const hybrid = isV2 && info.has('pieces');
  // BEP 52 torrents must be canonical bencode (libtorrent refuses the rest): the v2 info hash
  // then names one byte string only.
  if (isV2) strictInfo(infoBytes);
  const infoHashV2 = isV2 ? createHash('sha256').update(infoBytes).digest() : undefined;
  const swarmHash = infoHashV2 !== undefined && !hybrid ? infoHashV2.subarray(0, 20) : infoHash;

  const pieceLength = info.get('piece length');
  if (typeof pieceLength !== 'number') fail('piece-length', "missing or invalid 'piece length'");
  if (pieceLength <= 0) fail('piece-length', `'piece length' must be positive (got ${pieceLength})`);
  if (pieceLength > MAX_PIECE_LENGTH) fail('piece-length', `'piece length' ${pieceLength} exceeds the limit of ${MAX_PIECE_LENGTH}`);
  if (isV2) checkV2PieceLength(pieceLength);
  const pieces = isV2 && !hybrid ? new Uint8Array(0) : (asBytes(info.get('pieces')) ?? fail('pieces', "missing or invalid 'pieces'"));
  if (pieces.length % 20 !== 0) fail('pieces', `'pieces' length ${pieces.length} is not a multiple of 20`);

  const { name, raw: rawName } = parseName(info, toHex(swarmHash), notes);
  const tree = isV2 ? walkFileTree(asDict(info.get('file tree')) ?? fail('file-tree', "missing or invalid 'file tree'"), MAX_FILES) : undefined;
  const fileSpan = decoded.skipped.find((s) => s.parent === info && s.key === 'files');
  const fileList = info.get('files');
  let parsed: ParsedFiles;
  let twins: number[] = [];
  let multiFile = fileList !== undefined || fileSpan !== undefined;
  if (tree !== undefined && !hybrid) {
    const v2 = v2Entries(tree, pieceLength, notes);
    parsed = { raw: () => [], table: FileTable.fromEntries(v2.entries), total: v2.total };
    twins = v2.twins;
    multiFile = tree.length > 1 || tree[0]!.path.length > 1;
  } else if (fileSpan !== undefined) {
    parsed = readFileList(buffer(bytes), fileSpan.start, fileSpan.end, notes, fileSpan.count, plainLists.get(fileSpan.start));
  } else if (multiFile) {
    fail('invalid-files', "'files' is not a list");
  } else {
    const length = lengthField(info.get('length'), "'length'");
    parsed = {
      raw: () => [{ path: [rawName], length, pad: false }],
      table: FileTable.fromEntries([{ path: [name], length, offset: 0, pad: false, attr: '' }]),
      total: length,
    };
  }
  const total = parsed.total;
  if (total === 0) fail('invalid-length', 'the torrent holds no data (total length 0)');
  const pieceCount = Math.ceil(total / pieceLength);
  if (pieceCount > MAX_PIECES) fail('too-many-pieces', `${pieceCount} pieces exceed the limit of ${MAX_PIECES}`);
  if ((!isV2 || hybrid) && pieces.length !== pieceCount * 20) {
    fail('pieces', `'pieces' holds ${pieces.length / 20} hashes but ${total} bytes need ${pieceCount} pieces`);
  }
  if (tree !== undefined && hybrid) twins = checkHybrid(tree, parsed.raw(), pieceLength);
  const table = parsed.table;
  const v2Half = tree === undefined ? undefined : v2Files(tree, table, twins, pieceLength, pieceLayersOf(root));

  const source = asBytes(info.get('source'));
  const infoDict: InfoDict = {
    name,
    pieceLength,
    pieces,
    pieceCount,
    length: total,
    // Objects for every file only when someone reads the list whole.
    get files() {
      return table.toArray();
    },
    fileTable: table,
    multiFile,
    ...(v2Half !== undefined && !hybrid ? { merkle: merklePieces(v2Half.files, pieceLength, pieceCount) } : {}),
    private: info.get('private') === 1,
    ...(source === undefined ? {} : { source: utf8(source) }),
  };
  const warnings = notes.slice(0, MAX_WARNINGS);
  const announce = parseTrackers(root, warnings);
  const urlList = parseWebSeeds(root, warnings);
  if (notes.length > MAX_WARNINGS) warnings.push(`... and ${notes.length - MAX_WARNINGS} more warnings`);
  const comment = textField(root, 'comment');
  const createdBy = textField(root, 'created by');
  const creationDate = asInt(root.get('creation date'));
  return {
    infoHash: swarmHash,
    infoHashHex: toHex(swarmHash),
    infoBytes,
    info: infoDict,
    announce,
    urlList,
    ...(comment === undefined ? {} : { comment }),
    ...(createdBy === undefined ? {} : { createdBy }),
    ...(creationDate === undefined ? {} : { creationDate }),
    warnings,
    hybrid,
    ...(v2Half === undefined || infoHashV2 === undefined
      ? {}
      : { v2: { infoHash: infoHashV2, infoHashHex: toHex(infoHashV2), files: v2Half.files, layersComplete: v2Half.layersComplete } }),
  };
}

/** Read and parse a .torrent file, refusing files over 10 MB before reading them. */
export async function loadTorrentFile(path: string): Promise<Metainfo> {
  let bytes: Buffer;
  try {
    const handle = await open(path, 'r');
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) fail('read', `${quote(path)} is not a regular file`);
      if (stat.size > MAX_TORRENT_FILE_BYTES) {
        fail('too-large', `torrent file ${quote(path)} is ${stat.size} bytes (limit ${MAX_TORRENT_FILE_BYTES})`);
      }
      // Read at most limit+1 bytes, so a file growing while we read cannot exceed the bound.
      const buf = Buffer.alloc(Math.min(stat.size, MAX_TORRENT_FILE_BYTES) + 1);
      let filled = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buf, filled, buf.length - filled, filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
        if (filled === buf.length) break;
      }
      if (filled > MAX_TORRENT_FILE_BYTES) fail('too-large', `torrent file ${quote(path)} exceeds ${MAX_TORRENT_FILE_BYTES} bytes`);
      bytes = buf.subarray(0, filled);
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (err instanceof MetainfoError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new MetainfoError('read', `cannot read torrent file ${quote(path)} (${code})`, { cause: err });
  }
  return parseTorrent(bytes);
}
