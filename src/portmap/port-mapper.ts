/**
 * `PortMapper`: asks the default gateway to forward our listen ports, by PCP (RFC 6887, falling
 * back to NAT-PMP, RFC 6886, when the gateway answers that it speaks only that) and UPnP IGD at
 * once, keeps the mappings alive by renewing them at half their lifetime, and removes them at
 * `close()` within a bounded time. It learns the router's external address on the way. A LAN
 * without an answering router costs a few packets and a few seconds, once.
 *
 * States of one method (PCP/NAT-PMP or UPnP): idle -> mapping -> mapped (renewing) -> closed,
 * or idle -> failed. The two methods are independent; either one mapping is enough. A PCP
 * server whose epoch shows a restart (RFC 6887 §8.5) has forgotten our mappings: all of them
 * are made again at once rather than each at its next renewal.
 */
import type { Clock, TimerHandle } from '../util/clock.js';
import { PortMapError } from './errors.js';
import { defaultGateway } from './gateway.js';
import type { Protocol } from './igd-xml.js';
import { NatPmpClient } from './natpmp.js';
import { PcpClient } from './pcp.js';
import { type SsdpTarget, UpnpClient, UpnpFault, discoverGateway } from './upnp.js';

export type PortMapMethod = 'pcp' | 'natpmp' | 'upnp';

export interface PortMapping {
  readonly method: PortMapMethod;
  readonly protocol: Protocol;
  readonly internalPort: number;
  readonly externalPort: number;
  /** Seconds the router granted; 0 is permanent (UPnP routers that allow nothing else). */
  readonly lifetime: number;
}

export type PortMapEvent =
  | { readonly kind: 'mapped'; readonly mapping: PortMapping }
  | { readonly kind: 'renewed'; readonly mapping: PortMapping }
  | { readonly kind: 'external-address'; readonly method: PortMapMethod; readonly address: string }
  | { readonly kind: 'failed'; readonly method: PortMapMethod; readonly message: string }
  | { readonly kind: 'removed'; readonly mapping: PortMapping };

export interface PortMapperOptions {
  /** TCP port to map (our listen port). */
  readonly tcpPort: number;
  /** UDP port to map (DHT, UDP trackers); absent maps none. */
  readonly udpPort?: number;
  readonly clock: Clock;
  /** Default: the default route's gateway. Nothing is sent when there is none. */
  readonly gateway?: string;
  /** Where the M-SEARCH goes; default the SSDP multicast group. */
  readonly ssdpTarget?: SsdpTarget;
  /** The PCP and NAT-PMP server port; default 5351. */
  readonly natPmpPort?: number;
  /**
   * Default `['pcp', 'upnp']`. `pcp` falls back to NAT-PMP when the gateway answers PCP with
   * NAT-PMP's "unsupported version"; `natpmp` asks by NAT-PMP only.
   */
  readonly methods?: readonly PortMapMethod[];
  /** Lifetime asked for, seconds. Default 3600 (UPnP) and 7200 (PCP and NAT-PMP, RFC 6886 §3.3). */
  readonly leaseSeconds?: number;
  /** The mapping's description at the router (UPnP). Default 'Tessera'. */
  readonly description?: string;
  readonly onEvent?: (event: PortMapEvent) => void;
  /** Time allowed for SSDP discovery. Default 3000 ms. */
  readonly discoveryTimeoutMs?: number;
  /** NAT-PMP sends per request. Default 4 (3.75 s). */
  readonly natPmpAttempts?: number;
  /** PCP sends per request. Default 3 (21 s). */
  readonly pcpAttempts?: number;
}

/** A failed renewal is retried after this long (or half the lifetime, if shorter). */
const RETRY_MS = 60_000;

export class PortMapper {
  private readonly held: PortMapping[] = [];
  /** The renewal timer of each held mapping, by `mappingKey`. */
  private readonly timers = new Map<string, TimerHandle>();
  private natpmp: NatPmpClient | undefined;
  private pcp: PcpClient | undefined;
  private upnp: UpnpClient | undefined;
  private external: string | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: PortMapperOptions) {}

  /** The router's external address, once either method learned it. */
  get externalAddress(): string | undefined {
    return this.external;
  }

  get mappings(): readonly PortMapping[] {
    return [...this.held];
  }

  /** Finds the gateway and maps; resolves once each method has succeeded or given up. */
  async start(): Promise<void> {
    const gateway = this.opts.gateway ?? (await defaultGateway());
    if (gateway === undefined || this.closing !== undefined) return;
    const methods = this.opts.methods ?? ['pcp', 'upnp'];
    await Promise.all(
      methods.map((m) => {
        const started = m === 'pcp' ? this.startPcp(gateway) : m === 'natpmp' ? this.startNatPmp(gateway) : this.startUpnp(gateway);
        return started.catch((err: unknown) => {
          this.emit({ kind: 'failed', method: m, message: err instanceof Error ? err.message : String(err) });
        });
      }),
    );
  }

  /**
   * Removes every mapping (NAT-PMP lifetime 0, UPnP DeletePortMapping), waiting at most
   * `timeoutMs` for the router, then closes the sockets.
   */
  close(timeoutMs = 2000): Promise<void> {
    this.closing ??= (async () => {
      for (const t of this.timers.values()) t.cancel();
      this.timers.clear();
      const removals = this.held.splice(0).map((m) => this.unmap(m).then(() => this.emit({ kind: 'removed', mapping: m }), () => undefined));
      let timer: TimerHandle | undefined;
      await Promise.race([Promise.all(removals), new Promise<void>((resolve) => (timer = this.opts.clock.setTimeout(resolve, timeoutMs)))]);
      timer?.cancel();
      this.natpmp?.close();
      this.pcp?.close();
    })();
    return this.closing;
  }

  private protocols(): Array<[Protocol, number]> {
    const out: Array<[Protocol, number]> = [['TCP', this.opts.tcpPort]];
    if (this.opts.udpPort !== undefined) out.push(['UDP', this.opts.udpPort]);
    return out;
  }

  /** What the PCP and the NAT-PMP client are built with: both talk to port 5351 of the gateway. */
  private clientOptions(gateway: string, attempts: number | undefined): { gateway: string; clock: Clock; port?: number; attempts?: number } {
    return {
      gateway,
      clock: this.opts.clock,
      ...(this.opts.natPmpPort !== undefined ? { port: this.opts.natPmpPort } : {}),
      ...(attempts !== undefined ? { attempts } : {}),
    };
  }

  /** PCP, or NAT-PMP when the gateway says it knows only that (RFC 6887 Appendix A). */
  private async startPcp(gateway: string): Promise<void> {
    const client = new PcpClient({ ...this.clientOptions(gateway, this.opts.pcpAttempts), onServerReset: (answered) => this.refreshPcp(answered) });
    this.pcp = client;
    if (this.closing !== undefined) return client.close();
    for (const [protocol, port] of this.protocols()) {
      let grant;
      try {
        grant = await client.map(protocol, port, port, this.opts.leaseSeconds ?? 7200);
      } catch (err) {
        if (!(err instanceof PortMapError) || err.code !== 'pcp-unsupported') throw err;
        client.close();
        this.pcp = undefined;
        return this.startNatPmp(gateway);
      }
      // The address is learned from the mapping itself: PCP has no separate question for it.
      if (this.external === undefined && grant.externalAddress !== '0.0.0.0') {
        this.external = grant.externalAddress;
        this.emit({ kind: 'external-address', method: 'pcp', address: grant.externalAddress });
      }
      this.keep({ method: 'pcp', protocol, internalPort: port, externalPort: grant.externalPort, lifetime: grant.lifetime }, 'mapped');
    }
  }

  private async startNatPmp(gateway: string): Promise<void> {
    const client = new NatPmpClient(this.clientOptions(gateway, this.opts.natPmpAttempts));
    this.natpmp = client;
    if (this.closing !== undefined) return client.close();
    await this.learn('natpmp', () => client.externalAddress());
    for (const [protocol, port] of this.protocols()) {
      const grant = await client.map(protocol, port, port, this.opts.leaseSeconds ?? 7200);
      this.keep({ method: 'natpmp', protocol, internalPort: port, externalPort: grant.externalPort, lifetime: grant.lifetime }, 'mapped');
    }
  }

  private async startUpnp(gateway: string): Promise<void> {
    const found = await discoverGateway({
      gateway,
      clock: this.opts.clock,
      ...(this.opts.ssdpTarget !== undefined ? { target: this.opts.ssdpTarget } : {}),
      ...(this.opts.discoveryTimeoutMs !== undefined ? { timeoutMs: this.opts.discoveryTimeoutMs } : {}),
    });
    const client = await UpnpClient.fromDescription(found.location, { clock: this.opts.clock });
    this.upnp = client;
    if (this.closing !== undefined) return;
    await this.learn('upnp', () => client.externalAddress());
    for (const [protocol, port] of this.protocols()) {
      const lifetime = await this.upnpAdd(client, protocol, port, this.opts.leaseSeconds ?? 3600);
      this.keep({ method: 'upnp', protocol, internalPort: port, externalPort: port, lifetime }, 'mapped');
    }
  }

  /** AddPortMapping; a router that allows only permanent leases (725) gets lease 0. */
  private async upnpAdd(client: UpnpClient, protocol: Protocol, port: number, lease: number): Promise<number> {
    const description = this.opts.description ?? 'Tessera';
    try {
      await client.addMapping({ protocol, externalPort: port, internalPort: port, description, leaseSeconds: lease });
      return lease;
    } catch (err) {
      if (!(err instanceof UpnpFault) || err.upnpCode !== 725 || lease === 0) throw err;
      await client.addMapping({ protocol, externalPort: port, internalPort: port, description, leaseSeconds: 0 });
      return 0;
    }
  }

  /**
   * Asks for the external address. A router that answers without one may still map, so we go
   * on; one that does not answer at all ends this method.
   */
  private async learn(method: PortMapMethod, ask: () => Promise<string>): Promise<void> {
    let address: string;
    try {
      address = await ask();
    } catch (err) {
      if (err instanceof PortMapError && (err.code === 'natpmp-error' || err.code === 'upnp-error')) return;
      throw err;
    }
    this.external ??= address;
    this.emit({ kind: 'external-address', method, address });
  }

  /** Records a mapping (a renewal replaces its earlier self) and schedules the next renewal. */
  private keep(mapping: PortMapping, kind: 'mapped' | 'renewed'): void {
    if (this.closing !== undefined) {
      void this.unmap(mapping).catch(() => undefined);
      return;
    }
    const i = this.held.findIndex((m) => mappingKey(m) === mappingKey(mapping));
    if (i === -1) this.held.push(mapping);
    else this.held[i] = mapping;
    this.emit({ kind, mapping });
    if (mapping.lifetime > 0) this.schedule(mapping, (mapping.lifetime * 1000) / 2);
  }

  private schedule(mapping: PortMapping, ms: number): void {
    const key = mappingKey(mapping);
    this.timers.get(key)?.cancel();
    const t = this.opts.clock.setTimeout(() => {
      this.timers.delete(key);
      this.renewNow(mapping);
    }, ms);
    this.timers.set(key, t);
  }

  private renewNow(mapping: PortMapping): void {
    this.renew(mapping).catch((err: unknown) => {
      this.emit({ kind: 'failed', method: mapping.method, message: `renewal: ${err instanceof Error ? err.message : String(err)}` });
      if (this.closing === undefined) this.schedule(mapping, Math.min(RETRY_MS, (mapping.lifetime * 1000) / 2));
    });
  }

  /** The PCP server restarted: make every other PCP mapping again now (the client sends them one by one). */
  private refreshPcp(answered: { protocol: Protocol; internalPort: number }): void {
    if (this.closing !== undefined) return;
    for (const m of this.held) {
      if (m.method !== 'pcp' || (m.protocol === answered.protocol && m.internalPort === answered.internalPort)) continue;
      const key = mappingKey(m);
      this.timers.get(key)?.cancel();
      this.timers.delete(key);
      this.renewNow(m);
    }
  }

  private async renew(m: PortMapping): Promise<void> {
    if (m.method === 'pcp') {
      const grant = await this.pcp!.map(m.protocol, m.internalPort, m.externalPort, m.lifetime);
      this.keep({ ...m, externalPort: grant.externalPort, lifetime: grant.lifetime }, 'renewed');
    } else if (m.method === 'natpmp') {
      const grant = await this.natpmp!.map(m.protocol, m.internalPort, m.externalPort, m.lifetime);
      this.keep({ ...m, externalPort: grant.externalPort, lifetime: grant.lifetime }, 'renewed');
    } else {
      const lifetime = await this.upnpAdd(this.upnp!, m.protocol, m.internalPort, m.lifetime);
      this.keep({ ...m, lifetime }, 'renewed');
    }
  }

  private unmap(m: PortMapping): Promise<unknown> {
    if (m.method === 'pcp') return this.pcp!.map(m.protocol, m.internalPort, 0, 0);
    if (m.method === 'natpmp') return this.natpmp!.map(m.protocol, m.internalPort, 0, 0);
    return this.upnp!.deleteMapping(m.protocol, m.externalPort);
  }

  private emit(event: PortMapEvent): void {
    try {
      this.opts.onEvent?.(event);
    } catch {
      // an observer's failure is not the mapper's
    }
  }
}

function mappingKey(m: PortMapping): string {
  return `${m.method} ${m.protocol} ${m.internalPort}`;
}
