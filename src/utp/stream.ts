/**
 * A uTP connection as a Node `Duplex`, so the peer layer reads and writes it as it does a
 * TCP socket: 'connect' once open, backpressure both ways (a full send buffer holds the
 * write callback; unread input shrinks the window we advertise), 'end' at the peer's FIN.
 */
import { Duplex } from 'node:stream';
import type { UtpConnection, UtpHooks } from './connection.js';
import { utpError, type UtpError } from './errors.js';

export class UtpStream extends Duplex {
  /** Set by the manager right after construction. */
  conn: UtpConnection | undefined;
  readonly remoteAddress: string;
  readonly remotePort: number;
  private waiting: ((err?: Error | null) => void) | undefined;

  constructor(remoteAddress: string, remotePort: number) {
    super({ allowHalfOpen: false, readableHighWaterMark: 256 * 1024, writableHighWaterMark: 256 * 1024 });
    this.remoteAddress = remoteAddress;
    this.remotePort = remotePort;
  }

  /** The hooks the connection reports through; `release` runs once it is closed. */
  hooks(send: (packet: Buffer) => void, release: () => void): UtpHooks {
    return {
      send,
      onConnect: () => this.emit('connect'),
      onData: (payload) => void this.push(Buffer.from(payload.buffer, payload.byteOffset, payload.length)),
      onEnd: () => void this.push(null),
      onWritable: () => {
        const cb = this.waiting;
        this.waiting = undefined;
        cb?.();
      },
      onClose: (err: UtpError | undefined) => {
        release();
        const cb = this.waiting;
        this.waiting = undefined;
        cb?.(err ?? utpError('closed', 'uTP connection closed'));
        if (err !== undefined) this.destroy(err);
        else if (!this.readableEnded) {
          this.push(null);
          this.destroy();
        } else this.destroy();
      },
      readBuffered: () => this.readableLength,
    };
  }

  override _read(): void {
    this.conn?.readConsumed();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    const conn = this.conn;
    if (conn === undefined || conn.state === 'closed') return callback(utpError('closed', 'uTP connection closed'));
    if (conn.write(chunk)) callback();
    else this.waiting = callback;
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (err?: Error | null) => void): void {
    const conn = this.conn;
    if (conn === undefined || conn.state === 'closed') return callback(utpError('closed', 'uTP connection closed'));
    let ok = true;
    for (const c of chunks) ok = conn.write(c.chunk);
    if (ok) callback();
    else this.waiting = callback;
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.conn?.end();
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const conn = this.conn;
    // A graceful FIN: what we wrote still reaches the peer; its further data is discarded.
    if (conn !== undefined && conn.state !== 'closed') {
      if (conn.halfOpen || err !== null) conn.destroy();
      else conn.end(true);
    }
    callback(err);
  }
}
