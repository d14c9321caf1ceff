/**
 * Several transports dialled at once, in order of preference (TCP, then uTP): a peer that
 * speaks only one of them costs no timeout, and a peer that speaks both is kept on the
 * preferred one. The connection sees one `Duplex`: writes, backpressure, pause and resume go
 * to the winner.
 *
 * - The best attempt still in the race wins as soon as it connects. A worse one that connects
 *   first is held as long again as it took (`HOLD_MIN_MS` to `HOLD_MAX_MS`) for the better
 *   ones, and wins if none connects by then or all of them fail.
 * - Until the winner delivers its first byte, the other attempts stand by and what was written
 *   is kept. A winner that closes before answering is replaced by a standby, which is sent the
 *   same bytes: libtorrent with incoming TCP off accepts TCP connections and drops them, and
 *   only its uTP answers. The winner's first byte ends the standbys.
 *
 * Why TCP first: both carry the same bytes, but every uTP packet is handled in JS, at several
 * times the CPU of a TCP read; on a busy machine with many peers, uTP connections ran at a
 * tenth of the rate of TCP ones.
 */
import { Duplex } from 'node:stream';
import type { PeerAddress } from '../metainfo/types.js';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import type { DataSink, Dialer } from './transport.js';

/** A worse transport that connected first waits at least this long for a better one. */
export const HOLD_MIN_MS = 100;
/** … and at most this long. */
export const HOLD_MAX_MS = 1000;
/** Bytes kept for a standby; a connection that writes more before its first answer keeps none. */
const MAX_REPLAY_BYTES = 64 << 10;

/** One dialer that races `dialers`, best first (a single one is returned as it is). */
export function raceDialers(dialers: readonly Dialer[], clock: Clock = systemClock): Dialer {
  if (dialers.length === 1) return dialers[0]!;
  return (address, onData) => new RaceStream(dialers, address, onData, clock);
}

interface Attempt {
  readonly stream: Duplex;
  /** Preference: 0 is the best. */
  readonly rank: number;
  connected: boolean;
}

class RaceStream extends Duplex {
  private winner: Attempt | undefined;
  /** Attempts racing (no winner yet) or standing by (the winner has not answered yet). */
  private others: Attempt[] = [];
  /** Whether 'connect' was emitted: later winners take over silently. */
  private opened = false;
  /** The winner has answered: no standby is needed any more. */
  private answered = false;
  /** Copies of what was written since the winner was chosen, until it answers (undefined: too much to keep). */
  private sent: Buffer[] | undefined = [];
  private sentBytes = 0;
  private hold: TimerHandle | undefined;
  private readonly startedAt: number;
  private lastError: Error | undefined;

  constructor(dialers: readonly Dialer[], address: PeerAddress, onData: DataSink, private readonly clock: Clock) {
    super({ allowHalfOpen: false });
    this.startedAt = clock.now();
    dialers.forEach((dial, rank) => {
      const stream: Duplex = dial(address, (chunk, transient) => {
        if (this.winner?.stream !== stream) return;
        if (!this.answered) this.endStandbys();
        onData(chunk, transient);
      });
      const a: Attempt = { stream, rank, connected: false };
      this.others.push(a);
      stream.on('error', (err: Error) => this.ended(a, err));
      stream.on('close', () => this.ended(a, undefined));
      stream.on('end', () => this.ended(a, undefined));
      stream.once('connect', () => this.connected(a));
    });
  }

  private connected(a: Attempt): void {
    if (this.destroyed) return void a.stream.destroy();
    a.connected = true;
    // Connected after the winner was chosen: a standby until the winner answers.
    if (this.winner !== undefined) return;
    // The winner closed before answering and this is the first standby to connect.
    if (this.opened) return this.chooseBest();
    if (this.decide() || this.hold !== undefined) return;
    const waited = this.clock.now() - this.startedAt;
    this.hold = this.clock.setTimeout(() => this.chooseBest(), Math.min(HOLD_MAX_MS, Math.max(HOLD_MIN_MS, waited)));
  }

  /** The best connected attempt wins, once no better one is still connecting. */
  private decide(): boolean {
    const best = this.bestConnected();
    if (best === undefined || this.others.some((o) => !o.connected && o.rank < best.rank)) return false;
    this.choose(best);
    return true;
  }

  /** The best connected attempt wins (the hold ran out, or the winner closed before answering). */
  private chooseBest(): void {
    const best = this.bestConnected();
    if (best !== undefined) this.choose(best);
  }

  private bestConnected(): Attempt | undefined {
    let best: Attempt | undefined;
    for (const o of this.others) if (o.connected && (best === undefined || o.rank < best.rank)) best = o;
    return best;
  }

  private choose(a: Attempt): void {
    this.hold?.cancel();
    this.hold = undefined;
    this.winner = a;
    this.others = this.others.filter((o) => o !== a);
    if (this.isPaused()) a.stream.pause();
    if (!this.opened) {
      this.opened = true;
      this.emit('connect');
      return;
    }
    // A standby takes over from a winner that closed before answering: it gets the same bytes.
    for (const chunk of this.sent ?? []) a.stream.write(chunk);
  }

  private endStandbys(): void {
    this.answered = true;
    this.sent = undefined;
    for (const o of this.others) o.stream.destroy();
    this.others = [];
  }

  private ended(a: Attempt, err: Error | undefined): void {
    if (err !== undefined) this.lastError = err;
    if (this.winner === a) {
      if (this.answered || this.sent === undefined) return void this.destroy(err);
      this.winner = undefined;
      a.stream.destroy();
      this.chooseBest();
      if (this.winner === undefined && this.others.length === 0) this.destroy(this.lastError ?? new Error('connection closed'));
      return;
    }
    const before = this.others.length;
    this.others = this.others.filter((o) => o !== a);
    if (this.others.length === before || this.winner !== undefined) return;
    if (this.others.length === 0) return void this.destroy(this.lastError ?? new Error('connection failed'));
    // A better attempt failed: a worse one that connected need not wait for it any longer.
    if (!this.opened) this.decide();
  }

  override pause(): this {
    this.winner?.stream.pause();
    return super.pause();
  }

  override resume(): this {
    this.winner?.stream.resume();
    return super.resume();
  }

  override _read(): void {
    // Reads reach the connection through its DataSink, straight from the winner.
  }

  /** Keeps a copy for a standby while the winner has not answered. */
  private keep(chunk: Buffer): void {
    if (this.answered || this.sent === undefined) return;
    this.sentBytes += chunk.length;
    if (this.sentBytes > MAX_REPLAY_BYTES) this.sent = undefined;
    else this.sent.push(Buffer.from(chunk));
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (!this.opened) return callback(new Error('not connected'));
    this.keep(chunk);
    // Between a winner that closed and its standby: the copy kept is what the standby is sent.
    if (this.winner === undefined) return callback(this.sent === undefined ? new Error('connection closed') : null);
    this.winner.stream.write(chunk, callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (err?: Error | null) => void): void {
    if (!this.opened) return callback(new Error('not connected'));
    for (const c of chunks) this.keep(c.chunk);
    const w = this.winner?.stream;
    if (w === undefined) return callback(this.sent === undefined ? new Error('connection closed') : null);
    w.cork();
    chunks.forEach((c, i) => w.write(c.chunk, i === chunks.length - 1 ? callback : undefined));
    w.uncork();
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.winner?.stream.end();
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.hold?.cancel();
    this.winner?.stream.destroy();
    for (const o of this.others) o.stream.destroy();
    this.others = [];
    callback(err);
  }
}
