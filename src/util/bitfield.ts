/**
 * A fixed-size bit set in BitTorrent's wire order: piece 0 is the high bit of byte 0 (BEP 3).
 * Used for our own pieces, each peer's pieces and the picker's bookkeeping.
 */
export class Bitfield {
  readonly size: number;
  readonly bytes: Uint8Array;
  private set_ = 0;

  constructor(size: number, bytes?: Uint8Array) {
    this.size = size;
    const n = Math.ceil(size / 8);
    this.bytes = new Uint8Array(n);
    if (bytes !== undefined) {
      this.bytes.set(bytes.subarray(0, n));
      // Spare bits past `size` are not pieces: clear them so counts stay exact.
      if (size % 8 !== 0 && n > 0) this.bytes[n - 1]! &= 0xff << (8 - (size % 8));
      for (let i = 0; i < n; i++) this.set_ += popcount(this.bytes[i]!);
    }
  }

  /** True when `bytes` (a peer's bitfield message) has no bits set past `size`. */
  static sparesClear(size: number, bytes: Uint8Array): boolean {
    if (bytes.length !== Math.ceil(size / 8)) return false;
    if (size % 8 === 0) return true;
    return (bytes[bytes.length - 1]! & (0xff >> (size % 8))) === 0;
  }

  get count(): number {
    return this.set_;
  }

  get complete(): boolean {
    return this.set_ === this.size;
  }

  has(i: number): boolean {
    return (this.bytes[i >> 3]! & (0x80 >> (i & 7))) !== 0;
  }

  set(i: number): boolean {
    if (i < 0 || i >= this.size || this.has(i)) return false;
    this.bytes[i >> 3]! |= 0x80 >> (i & 7);
    this.set_++;
    return true;
  }

  clear(i: number): boolean {
    if (i < 0 || i >= this.size || !this.has(i)) return false;
    this.bytes[i >> 3]! &= ~(0x80 >> (i & 7));
    this.set_--;
    return true;
  }

  setAll(): void {
    for (let i = 0; i < this.size; i++) this.set(i);
  }
}

function popcount(b: number): number {
  b = b - ((b >> 1) & 0x55);
  b = (b & 0x33) + ((b >> 2) & 0x33);
  return (b + (b >> 4)) & 0x0f;
}
