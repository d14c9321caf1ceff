/**
 * The byte stream under a peer connection. A connection speaks through any `Duplex` that
 * emits 'connect' once open (a TCP socket does, and so does a uTP stream), so transports
 * plug in without the wire or MSE code knowing which one carries them.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { PeerAddress } from '../metainfo/types.js';

/**
 * Receives what the stream reads. When `transient`, `chunk` is reused by the next read, so
 * the receiver copies what it keeps; either way it may modify `chunk` in place (decrypt it).
 */
export type DataSink = (chunk: Buffer, transient: boolean) => void;

/** Opens a stream to `address`; it emits 'connect' when open and hands every read to `onData`. */
export type Dialer = (address: PeerAddress, onData: DataSink) => Duplex;

/** How to reach a peer (uTP, TCP, or both raced: see race.ts). */
export interface Transport {
  dialer(address: PeerAddress): Dialer;
}

/** Per outgoing connection: several frames per read at loopback speeds. */
const READ_BUFFER_BYTES = 256 * 1024;

/**
 * TCP. Outgoing connections (the download path) read into one reused buffer instead of a
 * fresh allocation per read: blocks are copied out into piece buffers anyway.
 */
export const dialTcp: Dialer = (address, onData) => {
  const socket = net.connect({
    host: address.host,
    port: address.port,
    onread: {
      buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
      callback: (n: number, buf: Uint8Array): boolean => {
        onData(Buffer.from(buf.buffer, buf.byteOffset, n), true);
        return true;
      },
    },
  });
  socket.setNoDelay(true);
  return socket;
};

/** Hand an accepted stream's reads to `onData` (each chunk is fresh, never reused). */
export function readAccepted(stream: Duplex, onData: DataSink): void {
  if (stream instanceof net.Socket) stream.setNoDelay(true);
  stream.on('data', (chunk: Buffer) => onData(chunk, false));
}
