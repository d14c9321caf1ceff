/**
 * A UDP relay on 127.0.0.1 that makes loopback look like a long, lossy path (the kernel here
 * has no `tc netem`): every datagram is dropped with probability `loss` or held for a delay
 * drawn uniformly from [minDelayMs, maxDelayMs], so datagrams also overtake each other.
 *
 * Each client address gets its own socket towards the target, so the target sees one peer per
 * client and its replies find their way back. The draws come from a seeded generator: the same
 * seed gives the same sequence of drops and delays (which datagram meets which draw still
 * depends on timing). Bounded: at most `MAX_CLIENTS` clients and `MAX_HELD` datagrams held.
 */
import { createSocket, type Socket } from 'node:dgram';
import { freePort } from './ports.js';
import { seeded } from './random.js';

export interface UdpRelayOptions {
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  /** Probability that a datagram is dropped, 0–1. */
  readonly loss: number;
  readonly seed: number;
}

export interface UdpRelayStats {
  /** Datagrams delivered. */
  forwarded: number;
  /** Datagrams dropped on purpose (the loss rate). */
  dropped: number;
  /** Datagrams that arrived at their destination after one sent later in the same direction. */
  reordered: number;
  /** Datagrams dropped because a bound was reached. */
  overflow: number;
  /** Bytes delivered to the target, and from it to the clients. */
  bytesToTarget: number;
  bytesFromTarget: number;
}

export interface UdpRelay {
  /** The relay's UDP port on 127.0.0.1 (free for TCP too, so a TCP dial to it is refused). */
  readonly port: number;
  readonly stats: Readonly<UdpRelayStats>;
  /** `host:port` of every client seen, in order of arrival. */
  readonly clients: readonly string[];
  close(): Promise<void>;
}

const MAX_CLIENTS = 16;
const MAX_HELD = 50_000;

interface Direction {
  /** Sequence number of the next datagram sent this way, and the highest one delivered. */
  next: number;
  highest: number;
  toTarget: boolean;
}

export async function startUdpRelay(target: { host: string; port: number }, opts: UdpRelayOptions): Promise<UdpRelay> {
  const random = seeded(opts.seed);
  const stats: UdpRelayStats = { forwarded: 0, dropped: 0, reordered: 0, overflow: 0, bytesToTarget: 0, bytesFromTarget: 0 };
  const timers = new Set<NodeJS.Timeout>();
  const backs = new Map<string, Socket>();
  const clients: string[] = [];
  let closed = false;

  const front = createSocket('udp4');
  front.on('error', () => undefined);
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.bind(port, '127.0.0.1', () => {
      front.off('error', reject);
      resolve();
    });
  });

  /** Hold `msg` for its delay (or drop it), then hand it to `deliver`. */
  const pass = (dir: Direction, msg: Buffer, deliver: (msg: Buffer) => void): void => {
    if (closed) return;
    if (random() < opts.loss) {
      stats.dropped++;
      return;
    }
    const delay = opts.minDelayMs + random() * (opts.maxDelayMs - opts.minDelayMs);
    if (timers.size >= MAX_HELD) {
      stats.overflow++;
      return;
    }
    const seq = dir.next++;
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (closed) return;
      if (seq < dir.highest) stats.reordered++;
      else dir.highest = seq;
      stats.forwarded++;
      if (dir.toTarget) stats.bytesToTarget += msg.length;
      else stats.bytesFromTarget += msg.length;
      deliver(msg);
    }, delay);
    timers.add(timer);
  };

  const toTarget: Direction = { next: 0, highest: -1, toTarget: true };

  front.on('message', (msg, rinfo) => {
    const client = `${rinfo.address}:${rinfo.port}`;
    let back = backs.get(client);
    if (back === undefined) {
      if (backs.size >= MAX_CLIENTS) {
        stats.overflow++;
        return;
      }
      const socket = createSocket('udp4');
      socket.on('error', () => undefined);
      const dir: Direction = { next: 0, highest: -1, toTarget: false };
      socket.on('message', (reply) => pass(dir, reply, (m) => front.send(m, rinfo.port, rinfo.address)));
      socket.bind(0, '127.0.0.1');
      backs.set(client, socket);
      clients.push(client);
      back = socket;
    }
    const out = back;
    pass(toTarget, msg, (m) => out.send(m, target.port, target.host));
  });

  return {
    port,
    stats,
    clients,
    close: async () => {
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const sockets = [front, ...backs.values()];
      backs.clear();
      await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
