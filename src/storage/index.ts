/**
 * Storage layer: piece geometry, the piece ↔ file map, safe file access below the output
 * folder, the bounded piece-buffer pool, SHA-1 verification and disk I/O on worker
 * threads, and recheck of data already on disk.
 *
 * Owns: every byte read from or written to a torrent's files. Imports only `metainfo`
 * types and `util`; never peers, wire, swarm or session code. Also the resume records
 * (`resume.ts`): which pieces are durable on disk, so that a restart reads no data.
 */
export { StorageError } from './errors.js';
export type { StorageErrorCode } from './errors.js';
export { BLOCK_SIZE, PieceGeometry } from './geometry.js';
export { FileLayout } from './layout.js';
export type { FileExtent, LayoutFile } from './layout.js';
export type { PieceStore, StoreOptions } from './store.js';
export { DEFAULT_POOL_BYTES, DEFAULT_WORKERS } from './store.js';
export type { CommitResult } from './worker-protocol.js';
export { TorrentStorage } from './torrent-storage.js';
export type { ExistingData, TorrentStorageOptions, VerifyOptions } from './torrent-storage.js';
export { DEFAULT_RESUME_INTERVAL_MS, defaultResumeDir, matchRecord, resumeFilePath } from './resume.js';
export type { RecordMatch, ResumeOptions } from './resume.js';
export { decodeResume, encodeResume, ResumeFormatError, RESUME_VERSION } from './resume-codec.js';
export type { FileStamp, ResumeRecord } from './resume-codec.js';
export { MemoryStore } from './memory-store.js';
export { PieceHasher } from './piece-hasher.js';
