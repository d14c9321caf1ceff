/**
 * The sending half of a peer connection: every byte out goes through here, is counted,
 * encrypted once RC4 is agreed, and leaves in as few socket writes as possible.
 *
 * Small messages (cancels, haves, interest, requests) are corked on the stream and leave
 * together when the current tick ends (Node's cork / nextTick-uncork idiom): a block that
 * arrives from one peer may cancel it at several others, and a burst of them used to cost
 * a syscall each. Blocks for uploading leave in one write per `batch`, each with a callback
 * once the stream has taken its bytes, so the buffer they view can be reused.
 */
import type { Duplex } from 'node:stream';
import type { StreamCipher } from '../mse/index.js';
import type { Clock } from '../util/clock.js';
import { encodePieceHeader } from '../wire/index.js';

export class PeerWriter {
  bytesSent = 0;
  /** Wall-clock ms of the last byte handed to the stream. */
  lastSent: number;
  /** Set once MSE agreed on RC4: every byte out is encrypted. */
  encrypt: StreamCipher | undefined;
  private stream: Duplex | undefined;
  /** The stream corked until the end of this tick, if any. */
  private corkedForTick: Duplex | undefined;

  /** `afterWrite` runs after every write (the connection checks its output bound there). */
  constructor(
    private readonly clock: Clock,
    private readonly afterWrite: (stream: Duplex) => void,
  ) {
    this.lastSent = clock.now();
  }

  /** The stream to write to (a redial replaces it). */
  use(stream: Duplex | undefined): void {
    this.stream = stream;
  }

  /** Queues bytes to leave at the end of the tick; the stream keeps `bytes` until then. */
  write(bytes: Uint8Array): boolean {
    const stream = this.stream!;
    this.corkForTick(stream);
    return this.raw(stream, bytes);
  }

  /** Bytes of the MSE handshake: never encrypted here, and sent at once. */
  writeClear(bytes: Uint8Array): void {
    this.bytesSent += bytes.length;
    this.lastSent = this.clock.now();
    this.stream!.write(bytes);
    this.afterWrite(this.stream!);
  }

  /**
   * A piece message written as header + block, without concatenating the block. `done` runs
   * once the stream has taken the block's bytes (or failed to), so its buffer may be reused.
   */
  sendPiece(index: number, begin: number, block: Uint8Array, done?: () => void): boolean {
    const stream = this.stream!;
    stream.cork();
    this.raw(stream, encodePieceHeader(index, begin, block.length));
    const ok = this.raw(stream, block, done);
    stream.uncork();
    return ok;
  }

  /** Run `fn` with the stream corked, so everything it sends leaves in one write. */
  batch(fn: () => void): void {
    const stream = this.stream!;
    stream.cork();
    try {
      fn();
    } finally {
      stream.uncork();
    }
  }

  get writableLength(): number {
    return this.stream!.writableLength;
  }

  private corkForTick(stream: Duplex): void {
    if (this.corkedForTick === stream) return;
    this.corkedForTick = stream;
    stream.cork();
    process.nextTick(() => {
      if (this.corkedForTick === stream) this.corkedForTick = undefined;
      stream.uncork();
    });
  }

  private raw(stream: Duplex, bytes: Uint8Array, done?: () => void): boolean {
    this.bytesSent += bytes.length;
    this.lastSent = this.clock.now();
    let ok: boolean;
    if (this.encrypt === undefined) ok = stream.write(bytes, done);
    else {
      // Encrypt into a buffer of its own (OpenSSL writes one anyway): callers share their
      // buffers (cached blocks, the bitfield), and they are free once it is written.
      ok = stream.write(this.encrypt.processCopy(bytes));
      done?.();
    }
    this.afterWrite(stream);
    return ok;
  }
}
