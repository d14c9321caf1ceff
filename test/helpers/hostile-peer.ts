/**
 * Raw hostile connections for tests against a seeder process: handshake by hand (framing from
 * BEP 3, 10 and 9, independent of the project's codec), then whatever abuse the test wants to
 * send: keep-alives only, or a flood of requests it never reads the answers to.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';

const PROTOCOL = Buffer.from('\x13BitTorrent protocol', 'latin1');

/** A BEP 3 frame: length prefix, id, payload. */
export function frame(id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length + 1, 0);
  head[4] = id;
  return Buffer.concat([head, payload]);
}

/** A request (id 6) for `length` bytes at `begin` of `index`. */
export function requestFrame(index: number, begin: number, length: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt32BE(index, 0);
  b.writeUInt32BE(begin, 4);
  b.writeUInt32BE(length, 8);
  return frame(6, b);
}

/** BEP 10 extended message `id` with a bencoded `payload` written by hand. */
export function extendedFrame(id: number, payload: string): Buffer {
  return frame(20, Buffer.concat([Buffer.from([id]), Buffer.from(payload, 'latin1')]));
}

/** Our handshake; `extensions` sets the BEP 10 bit. */
export function handshake(infoHash: Uint8Array, extensions: boolean): Buffer {
  const reserved = Buffer.alloc(8);
  if (extensions) reserved[5] = 0x10;
  return Buffer.concat([PROTOCOL, reserved, infoHash, Buffer.from('-HX0001-'), randomBytes(12)]);
}

export interface RawPeer {
  readonly socket: net.Socket;
  /** Resolves once the remote's 68-byte handshake arrived (rejects if closed first). */
  readonly handshaken: Promise<void>;
  /** Resolves when the connection closes, with who closed it as far as we can tell. */
  readonly closed: Promise<void>;
  readonly isClosed: () => boolean;
}

/**
 * Connect to 127.0.0.1:`port` from `localAddress` and send our handshake. With `read: false`
 * the socket stops reading as soon as the remote handshake is in (the never-reading peer).
 */
export function connectRaw(port: number, infoHash: Uint8Array, opts: { localAddress?: string; extensions?: boolean; read?: boolean } = {}): RawPeer {
  const socket = net.connect({ host: '127.0.0.1', port, ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}) });
  socket.on('error', () => undefined);
  let closedFlag = false;
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closedFlag = true;
      resolve();
    }),
  );
  const handshaken = new Promise<void>((resolve, reject) => {
    let got = 0;
    const onData = (c: Buffer): void => {
      got += c.length;
      if (got < 68) return;
      if (opts.read === false) {
        socket.off('data', onData);
        socket.pause();
      }
      resolve();
    };
    socket.on('data', onData);
    void closed.then(() => reject(new Error('closed before the handshake')));
  });
  handshaken.catch(() => undefined);
  socket.once('connect', () => socket.write(handshake(infoHash, opts.extensions ?? false)));
  return { socket, handshaken, closed, isClosed: () => closedFlag };
}
