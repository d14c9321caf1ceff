/**
 * The parsed, validated shape of a v1 torrent. Everything here has been checked by the
 * parser: lengths are safe integers, paths are sanitized components that cannot escape
 * the download folder, and `pieces` holds exactly `pieceCount` SHA-1 digests.
 */
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
  /** Concatenated 20-byte SHA-1 digests, `pieceCount * 20` bytes. */
  readonly pieces: Uint8Array;
  readonly pieceCount: number;
  /** Sum of all file lengths, padding included. */
  readonly length: number;
  /** Files in piece-space order. For a single-file torrent, one entry whose path is `[name]`. */
  readonly files: readonly FileEntry[];
  readonly multiFile: boolean;
  readonly private: boolean;
  readonly source?: string;
}

export interface Metainfo {
  /** SHA-1 of the raw `info` bytes as they appear in the file. */
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
  /** Set when the torrent is a v1+v2 hybrid (BEP 52); it is used as v1. */
  readonly hybrid: boolean;
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
  readonly name?: string;
  readonly trackers: readonly string[];
  readonly peers: readonly PeerAddress[];
  readonly webSeeds: readonly string[];
  /** BEP 53 `so=` file indices (ranges expanded), undefined when absent. */
  readonly select?: readonly number[];
}
