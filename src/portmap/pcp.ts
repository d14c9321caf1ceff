/**
 * A PCP client (RFC 6887), MAP only, on one UDP socket connected to the default gateway's port
 * 5351, so that only the gateway's replies reach it. Requests go one at a time; each mapping
 * keeps its nonce for renewals and the deletion (§11.1, §15). Retransmission follows §8.1.1
 * (3 s, doubling) without the random factor, for a bounded number of sends. Every response's
 * epoch is checked against the previous one (§8.5): a server that restarted has lost our
 * mappings, and `onServerReset` says so. Time comes from the injected clock.
 */
import { randomBytes } from 'node:crypto';
import { type Socket, createSocket } from 'node:dgram';
import type { Clock, TimerHandle } from '../util/clock.js';
import { PortMapError } from './errors.js';
import {
  PCP_NONCE_BYTES,
  PCP_PORT,
  PCP_RESULTS,
  type PcpEpochSample,
  type PcpReply,
  decodePcpReply,
  encodePcpMapRequest,
  pcpServerLostState,
} from './pcp-codec.js';

export interface PcpClientOptions {
  readonly gateway: string;
  /** Default 5351; tests point it at a responder on loopback. */
  readonly port?: number;
  readonly clock: Clock;
  /** Sends per request (3 s, then doubling): 3 gives up after 21 s. */
  readonly attempts?: number;
  /**
   * The server's epoch shows it restarted (RFC 6887 §8.5): every mapping must be made again,
   * except `answered`, whose request the restarted server has just granted.
   */
  readonly onServerReset?: (answered: { readonly protocol: 'TCP' | 'UDP'; readonly internalPort: number }) => void;
}

export interface PcpGrant {
  readonly externalPort: number;
  readonly externalAddress: string;
  /** Seconds granted. */
  readonly lifetime: number;
}

const INITIAL_RETRY_MS = 3000;

export class PcpClient {
  private readonly socket: Socket;
  private readonly ready: Promise<string>;
  private readonly nonces = new Map<string, Uint8Array>();
  /** The request in flight: where a matching reply goes, and how `close()` ends it. */
  private waiting: { readonly onReply: (reply: PcpReply) => void; readonly fail: (err: PortMapError) => void } | undefined;
  private lastEpoch: PcpEpochSample | undefined;
  private closed = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: PcpClientOptions) {
    this.socket = createSocket({ type: 'udp4' });
    this.socket.on('error', () => undefined);
    this.socket.on('message', (msg) => {
      let reply: PcpReply;
      try {
        reply = decodePcpReply(msg);
      } catch {
        return;
      }
      this.waiting?.onReply(reply);
    });
    // Connected: the kernel drops datagrams from anyone but the gateway's port, and the local
    // address it picked is the client address the request must carry (§8.1).
    this.ready = new Promise<string>((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.connect(opts.port ?? PCP_PORT, opts.gateway, () => {
        this.socket.off('error', reject);
        resolve(this.socket.address().address);
      });
    });
    this.ready.catch(() => undefined);
  }

  /**
   * Maps `internalPort` (or with `lifetime` 0 deletes its mapping); resolves to the grant.
   * Rejects with `PortMapError`: `pcp-unsupported` (the gateway speaks NAT-PMP only, or an
   * older PCP), `pcp-error` (a refusal), `timeout`, `closed`.
   */
  map(protocol: 'TCP' | 'UDP', internalPort: number, suggestedExternalPort: number, lifetime: number): Promise<PcpGrant> {
    const key = `${protocol} ${internalPort}`;
    let nonce = this.nonces.get(key);
    if (nonce === undefined) this.nonces.set(key, (nonce = randomBytes(PCP_NONCE_BYTES)));
    const run = this.queue.then(async () => {
      const clientAddress = await this.ready.catch((err: unknown) => {
        throw new PortMapError('timeout', `cannot reach the PCP gateway ${this.opts.gateway}: ${err instanceof Error ? err.message : String(err)}`);
      });
      const packet = encodePcpMapRequest({ protocol, internalPort, suggestedExternalPort, lifetime, clientAddress, nonce });
      const reply = await this.exchange(packet, (r) => r.kind !== 'map' || (r.protocol === protocol && r.internalPort === internalPort && Buffer.from(r.nonce).equals(nonce)));
      if (reply.kind !== 'natpmp-only') this.noteEpoch(reply.epoch, { protocol, internalPort });
      if (reply.kind === 'natpmp-only' || (reply.kind === 'header' && reply.result === 1)) {
        throw new PortMapError('pcp-unsupported', `the gateway ${this.opts.gateway} does not speak PCP`);
      }
      if (reply.result !== 0) throw new PortMapError('pcp-error', `PCP gateway answered ${reply.result} (${PCP_RESULTS[reply.result] ?? 'unknown'})`);
      if (reply.kind !== 'map') throw new PortMapError('bad-pcp', 'PCP success without a MAP body');
      if (lifetime === 0) this.nonces.delete(key);
      return { externalPort: reply.externalPort, externalAddress: reply.externalAddress, lifetime: reply.lifetime };
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.waiting?.fail(new PortMapError('closed', 'PCP client closed'));
    this.socket.close();
  }

  /** §8.5: compare this response's epoch with the previous one's. */
  private noteEpoch(server: number, answered: { protocol: 'TCP' | 'UDP'; internalPort: number }): void {
    const curr = { server, client: this.opts.clock.now() / 1000 };
    const prev = this.lastEpoch;
    this.lastEpoch = curr;
    if (prev !== undefined && pcpServerLostState(prev, curr)) this.opts.onServerReset?.(answered);
  }

  /** Sends `packet` until a reply that `matches` arrives or the sends run out. */
  private exchange(packet: Uint8Array, matches: (reply: PcpReply) => boolean): Promise<PcpReply> {
    return new Promise<PcpReply>((resolve, reject) => {
      if (this.closed) return reject(new PortMapError('closed', 'PCP client closed'));
      const attempts = this.opts.attempts ?? 3;
      let timer: TimerHandle | undefined;
      let sent = 0;
      const done = (): void => {
        timer?.cancel();
        this.waiting = undefined;
      };
      this.waiting = {
        onReply: (reply) => {
          if (!matches(reply)) return;
          done();
          resolve(reply);
        },
        fail: (err) => {
          done();
          reject(err);
        },
      };
      const send = (): void => {
        if (this.closed) return;
        if (sent === attempts) {
          done();
          return reject(new PortMapError('timeout', `no PCP answer from ${this.opts.gateway}`));
        }
        this.socket.send(packet, () => undefined);
        timer = this.opts.clock.setTimeout(send, INITIAL_RETRY_MS * 2 ** sent);
        sent++;
      };
      send();
    });
  }
}
