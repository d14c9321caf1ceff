/**
 * The receiving half of a uTP connection's bookkeeping (BEP 29): payloads that arrived ahead
 * of a gap, held until the gap fills, and the selective ACK that tells the sender about them.
 * Bounded by the caller's window (`hold` takes the room left) and by the span a selective
 * ACK can describe.
 */
import { MAX_SACK_BYTES, seqDistance } from './packet.js';

/** Packets ahead of the next expected one that we are willing to hold: as far as a selective ACK reaches. */
export const MAX_REORDER_PACKETS = MAX_SACK_BYTES * 8;

export class ReorderBuffer {
  private readonly held = new Map<number, Uint8Array>();
  /** Payload bytes held. */
  bytes = 0;

  /** Keep `payload` of `seq` unless it is held already or `room` bytes would not take it. */
  hold(seq: number, payload: Uint8Array, room: number): void {
    if (this.held.has(seq) || this.bytes + payload.length > room) return;
    this.held.set(seq, payload);
    this.bytes += payload.length;
  }

  /** The payload of `seq`, out of the buffer, if it was held. */
  take(seq: number): Uint8Array | undefined {
    const payload = this.held.get(seq);
    if (payload === undefined) return undefined;
    this.held.delete(seq);
    this.bytes -= payload.length;
    return payload;
  }

  clear(): void {
    this.held.clear();
    this.bytes = 0;
  }

  /** The selective ACK past `ackNr` (bit i for ackNr + 2 + i), or undefined when nothing is held. */
  sackMask(ackNr: number): Uint8Array | undefined {
    if (this.held.size === 0) return undefined;
    let maxBit = 0;
    for (const seq of this.held.keys()) maxBit = Math.max(maxBit, seqDistance(ackNr, seq) - 2);
    const bytes = Math.min(MAX_SACK_BYTES, (Math.floor(maxBit / 32) + 1) * 4);
    const mask = new Uint8Array(bytes);
    for (const seq of this.held.keys()) {
      const bit = seqDistance(ackNr, seq) - 2;
      if (bit >= 0 && bit < bytes * 8) mask[bit >> 3]! |= 1 << (bit & 7);
    }
    return mask;
  }
}
