/**
 * Several transports dialled at once (uTP and TCP): the first stream to connect carries
 * the connection and the others are dropped, so a peer that speaks only one of them costs
 * no timeout, and a peer that speaks both keeps whichever answered first. The connection
 * sees one `Duplex`: writes, backpressure, pause and resume go to the winner.
 */
import { Duplex } from 'node:stream';
import type { PeerAddress } from '../metainfo/types.js';
import type { DataSink, Dialer } from './transport.js';

/** One dialer that races `dialers` (a single one is returned as it is). */
export function raceDialers(dialers: readonly Dialer[]): Dialer {
  if (dialers.length === 1) return dialers[0]!;
  return (address, onData) => new RaceStream(dialers, address, onData);
}

class RaceStream extends Duplex {
  private winner: Duplex | undefined;
  private readonly attempts = new Set<Duplex>();
  private lastError: Error | undefined;

  constructor(dialers: readonly Dialer[], address: PeerAddress, onData: DataSink) {
    super({ allowHalfOpen: false });
    for (const dial of dialers) {
      const stream: Duplex = dial(address, (chunk, transient) => {
        if (this.winner === stream) onData(chunk, transient);
      });
      this.attempts.add(stream);
      stream.on('error', (err: Error) => this.attemptEnded(stream, err));
      stream.on('close', () => this.attemptEnded(stream, undefined));
      stream.on('end', () => this.attemptEnded(stream, undefined));
      stream.once('connect', () => this.connected(stream));
    }
  }

  private connected(stream: Duplex): void {
    if (this.winner !== undefined || this.destroyed) return void stream.destroy();
    this.winner = stream;
    for (const other of this.attempts) if (other !== stream) other.destroy();
    this.attempts.clear();
    this.emit('connect');
  }

  private attemptEnded(stream: Duplex, err: Error | undefined): void {
    if (this.winner === stream) return void this.destroy(err);
    if (!this.attempts.delete(stream)) return;
    if (err !== undefined) this.lastError = err;
    if (this.attempts.size === 0 && this.winner === undefined) this.destroy(this.lastError ?? new Error('connection failed'));
  }

  override pause(): this {
    this.winner?.pause();
    return super.pause();
  }

  override resume(): this {
    this.winner?.resume();
    return super.resume();
  }

  override _read(): void {
    // Reads reach the connection through its DataSink, straight from the winner.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.winner === undefined) return callback(new Error('not connected'));
    this.winner.write(chunk, callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (err?: Error | null) => void): void {
    const w = this.winner;
    if (w === undefined) return callback(new Error('not connected'));
    w.cork();
    chunks.forEach((c, i) => w.write(c.chunk, i === chunks.length - 1 ? callback : undefined));
    w.uncork();
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.winner?.end();
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.winner?.destroy();
    for (const s of this.attempts) s.destroy();
    this.attempts.clear();
    callback(err);
  }
}
