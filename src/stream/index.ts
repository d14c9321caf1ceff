/**
 * Streaming: a torrent's files over HTTP on the loopback address while they download. This
 * layer serves bytes from a `StreamSource`; it imports nothing of the engine (the CLI adapts a
 * torrent to the source interface).
 */
export { StreamServer, type StreamFile, type StreamServerOptions, type StreamSource } from './server.js';
export { contentType, parseRange, type RangeRequest } from './range.js';
