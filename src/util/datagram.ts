/**
 * A UDP socket shared by several protocols (uTP, the DHT, UDP trackers), as libtorrent and
 * Transmission share one: each protocol sends through it and registers for the datagrams
 * that are its own. The owner demultiplexes by the first byte (see `utp/mux.ts`).
 */
export interface DatagramChannel {
  /** The bound UDP port. */
  readonly port: number;
  send(msg: Uint8Array, port: number, host: string, callback?: (err: Error | null) => void): void;
  /** Receive the datagrams of one protocol; returns a function that stops it. */
  listen(onMessage: (msg: Buffer, host: string, port: number) => void): () => void;
}
