/**
 * A NAT-PMP client (RFC 6886) on one UDP socket: requests go to the default gateway's port
 * 5351 only, are retransmitted after 250 ms, doubling (§3.1), and a reply is accepted only
 * from that address and port. Time comes from the injected clock.
 */
import { type Socket, createSocket } from 'node:dgram';
import type { Clock, TimerHandle } from '../util/clock.js';
import { PortMapError } from './errors.js';
import {
  NATPMP_PORT,
  NATPMP_RESULTS,
  type NatPmpReply,
  decodeNatPmpReply,
  encodeExternalAddressRequest,
  encodeMapRequest,
} from './natpmp-codec.js';

export interface NatPmpClientOptions {
  readonly gateway: string;
  /** Default 5351; tests point it at a responder on loopback. */
  readonly port?: number;
  readonly clock: Clock;
  /** Sends per request (250 ms, then doubling): 4 gives up after 3.75 s. RFC 6886 allows 9. */
  readonly attempts?: number;
}

interface Waiting {
  readonly op: number;
  readonly resolve: (reply: NatPmpReply) => void;
  readonly reject: (err: Error) => void;
}

export class NatPmpClient {
  private readonly socket: Socket;
  private readonly waiting: Waiting[] = [];
  private closed = false;
  /** Serialises requests: RFC 6886 §3.1 has one outstanding request per client. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: NatPmpClientOptions) {
    this.socket = createSocket({ type: 'udp4' });
    this.socket.on('error', () => undefined);
    this.socket.on('message', (msg, rinfo) => {
      if (rinfo.address !== opts.gateway || rinfo.port !== (opts.port ?? NATPMP_PORT)) return;
      let reply: NatPmpReply;
      try {
        reply = decodeNatPmpReply(msg);
      } catch {
        return;
      }
      const op = reply.op === 'external-address' ? 0 : reply.protocol === 'UDP' ? 1 : 2;
      const i = this.waiting.findIndex((w) => w.op === op);
      if (i !== -1) this.waiting.splice(i, 1)[0]!.resolve(reply);
    });
  }

  /** The router's external IPv4 address (§3.2). */
  async externalAddress(): Promise<string> {
    const reply = await this.request(0, encodeExternalAddressRequest());
    if (reply.op !== 'external-address') throw new PortMapError('bad-natpmp', 'reply of the wrong kind');
    return reply.address;
  }

  /** Maps (or with `lifetime` 0, deletes) a port; resolves to the router's grant (§3.3). */
  async map(protocol: 'UDP' | 'TCP', internalPort: number, externalPort: number, lifetime: number): Promise<{ externalPort: number; lifetime: number }> {
    const reply = await this.request(protocol === 'UDP' ? 1 : 2, encodeMapRequest(protocol, internalPort, externalPort, lifetime));
    if (reply.op !== 'map' || reply.internalPort !== internalPort) throw new PortMapError('bad-natpmp', 'mapping reply for another port');
    return { externalPort: reply.externalPort, lifetime: reply.lifetime };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.reject(new PortMapError('closed', 'NAT-PMP client closed'));
    this.socket.close();
  }

  private request(op: number, packet: Uint8Array): Promise<NatPmpReply> {
    const run = this.queue.then(() => this.exchange(op, packet));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private exchange(op: number, packet: Uint8Array): Promise<NatPmpReply> {
    return new Promise<NatPmpReply>((resolve, reject) => {
      if (this.closed) return reject(new PortMapError('closed', 'NAT-PMP client closed'));
      const attempts = this.opts.attempts ?? 4;
      let timer: TimerHandle | undefined;
      let sent = 0;
      const waiter: Waiting = {
        op,
        resolve: (reply) => {
          timer?.cancel();
          if (reply.result !== 0) reject(new PortMapError('natpmp-error', `NAT-PMP gateway answered ${reply.result} (${NATPMP_RESULTS[reply.result] ?? 'unknown'})`));
          else resolve(reply);
        },
        reject: (err) => {
          timer?.cancel();
          reject(err);
        },
      };
      const send = (): void => {
        if (this.closed) return;
        if (sent === attempts) {
          const i = this.waiting.indexOf(waiter);
          if (i !== -1) this.waiting.splice(i, 1);
          reject(new PortMapError('timeout', `no NAT-PMP answer from ${this.opts.gateway}`));
          return;
        }
        this.socket.send(packet, this.opts.port ?? NATPMP_PORT, this.opts.gateway, () => undefined);
        timer = this.opts.clock.setTimeout(send, 250 * 2 ** sent);
        sent++;
      };
      this.waiting.push(waiter);
      send();
    });
  }
}
