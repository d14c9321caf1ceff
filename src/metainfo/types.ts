/**
 * The parsed, validated shape of a torrent (v1, v2 or hybrid, seen through v1's piece space). Everything here has been checked by the
 * parser: lengths are safe integers, paths are sanitized components that cannot escape
 * the download folder, and `pieces` holds exactly `pieceCount` SHA-1 digests.
 */
import type { FileTable } from './file-table.js';

export interface FileEntry {
  /** Sanitized path components below the torrent's top folder (single-file: `[name]`). */
  readonly path: readonly string[];
  readonly length: number;
  /** Byte offset of the file's first byte in the torrent's piece space. */
  readonly offset: number;
  /** BEP 47 padding file: counted in piece space, never written to disk. */
  readonly pad: boolean;
  /** BEP 47 attribute letters (`x`, `h`, `l`, `p`), empty when absent. */
  readonly attr: string;
  /** BEP 47 symlink (`attr` has `l`): sanitized target, relative to the torrent's top folder. */
  readonly symlinkPath?: readonly string[];
}

export interface InfoDict {
  /** Sanitized top-level name (file name for single-file torrents, folder name otherwise). */
  readonly name: string;
  readonly pieceLength: number;
  /** Concatenated 20-byte SHA-1 digests, `pieceCount * 20` bytes; empty when `merkle` is set. */
  readonly pieces: Uint8Array;
  /** BEP 52 v2-only torrents: pieces are verified against merkle hashes instead of SHA-1s. */
  readonly merkle?: MerklePieces;
  readonly pieceCount: number;
  /** Sum of all file lengths, padding included. */
  readonly length: number;
  /**
   * Files in piece-space order. For a single-file torrent, one entry whose path is `[name]`.
   * Made from `fileTable` when first read: code that walks many files reads the table instead.
   */
  readonly files: readonly FileEntry[];
  /** The same files, compact: lengths, offsets and paths by index, with no object per file. */
  readonly fileTable: FileTable;
  readonly multiFile: boolean;
  readonly private: boolean;
  readonly source?: string;
}

/**
 * What verifies each piece of a v2-only torrent. A piece holds the bytes of one file only
 * (files start on piece boundaries; the gaps are pad files), and its hash is the merkle root
 * over its first `dataLength[i]` bytes as 16 KiB leaves, zero-padded to `leaves[i]` leaves.
 */
export interface MerklePieces {
  /** 32 bytes per piece: a piece-layer hash, or the pieces root of a file of one piece. */
  readonly hashes: Uint8Array;
  readonly leaves: Uint32Array;
  readonly dataLength: Uint32Array;
}

/** One non-empty file of a v2 or hybrid torrent, as the v2 half describes it. */
export interface V2File {
  /** Index into `InfoDict.files`. */
  readonly fileIndex: number;
  readonly length: number;
  readonly firstPiece: number;
  readonly pieceCount: number;
  readonly root: Uint8Array;
  /** The file's piece layer (32 bytes per piece), when known and the file spans several pieces. */
  readonly layer: Uint8Array | undefined;
}

/** The v2 half of a torrent (BEP 52). */
export interface V2Meta {
  /** SHA-256 of the raw `info` bytes. */
  readonly infoHash: Uint8Array;
  readonly infoHashHex: string;
  readonly files: readonly V2File[];
  /** False when some multi-piece file has no piece layer (they must come from peers). */
  readonly layersComplete: boolean;
}

export interface Metainfo {
  /**
   * The 20-byte swarm identifier: SHA-1 of the raw `info` bytes (v1, hybrid), or the SHA-256
   * of them truncated to 20 bytes (v2-only), as trackers, the DHT and handshakes use it.
   */
  readonly infoHash: Uint8Array;
  /** `infoHash` as 40 lowercase hex characters. */
  readonly infoHashHex: string;
  /** The exact bytes of the info dictionary (served to peers over ut_metadata). */
  readonly infoBytes: Uint8Array;
  readonly info: InfoDict;
  /** Announce URLs by tier (BEP 12); `announce` alone becomes one tier of one. */
  readonly announce: readonly (readonly string[])[];
  /** BEP 19 web seeds, deduplicated, empty entries dropped. */
  readonly urlList: readonly string[];
  readonly comment?: string;
  readonly createdBy?: string;
  readonly creationDate?: number;
  /** Things that were tolerated or sanitized while loading, one human line each. */
  readonly warnings: readonly string[];
  /** Set when the torrent is a v1+v2 hybrid (BEP 52): SHA-1 pieces and a v2 half. */
  readonly hybrid: boolean;
  /** The v2 half, for v2-only and hybrid torrents. */
  readonly v2?: V2Meta;
}

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

export interface MagnetLink {
  /** v1 info hash when the link has `urn:btih:` (or a v1-derivable one). */
  readonly infoHash?: Uint8Array;
  readonly infoHashHex?: string;
  /** BEP 52 multihash (`urn:btmh:`), hex of the multihash bytes. */
  readonly btmh?: string;
  /** The v2 info hash (SHA-256, 32 bytes) of a `urn:btmh:` link. */
  readonly infoHashV2?: Uint8Array;
  readonly name?: string;
  readonly trackers: readonly string[];
  readonly peers: readonly PeerAddress[];
  readonly webSeeds: readonly string[];
  /** BEP 53 `so=` file indices (ranges expanded), undefined when absent. */
  readonly select?: readonly number[];
}
