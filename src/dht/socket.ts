/**
 * The DHT node's UDP edge: a socket of its own, or its share of one that the owner binds and
 * demultiplexes (the listen port, shared with uTP and UDP trackers as libtorrent shares it).
 * Either way the node sends through it, receives its datagrams through one listener, and
 * closes only what is its own.
 */
import { createSocket } from 'node:dgram';
import type { DatagramChannel } from '../util/datagram.js';
import { DhtError } from './errors.js';

export interface DhtSocket extends DatagramChannel {
  /** Closes an own socket; stops listening on a shared one. */
  close(): Promise<void>;
}

/** Bind a socket of the node's own. */
export async function bindDhtSocket(family: 4 | 6, port: number, host: string): Promise<DhtSocket> {
  const socket = createSocket(family === 6 ? { type: 'udp6', ipv6Only: true } : { type: 'udp4' });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(new DhtError('bind-failed', `cannot bind DHT socket: ${err.message}`, { cause: err }));
    socket.once('error', onError);
    socket.bind(port, host, () => {
      socket.off('error', onError);
      resolve();
    });
  }).catch((err: unknown) => {
    socket.close();
    throw err;
  });
  // A socket 'error' without a listener would kill the process; each query has its timeout.
  socket.on('error', () => undefined);
  return {
    port: socket.address().port,
    send: (msg, to, host, cb) => socket.send(msg, to, host, (err) => cb?.(err ?? null)),
    listen: (onMessage) => {
      const handler = (msg: Buffer, rinfo: { address: string; port: number }): void => onMessage(msg, rinfo.address, rinfo.port);
      socket.on('message', handler);
      return () => socket.off('message', handler);
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** The node's share of a socket the owner keeps: closing it only stops the listening. */
export function sharedDhtSocket(channel: DatagramChannel): DhtSocket {
  const stops: (() => void)[] = [];
  return {
    port: channel.port,
    send: (msg, to, host, cb) => channel.send(msg, to, host, cb),
    listen: (onMessage) => {
      const stop = channel.listen(onMessage);
      stops.push(stop);
      return stop;
    },
    close: async () => {
      for (const stop of stops.splice(0)) stop();
    },
  };
}
