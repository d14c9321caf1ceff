/**
 * Our external address, per family, as the session knows it. Two kinds of witness:
 *
 * - the router (PCP, NAT-PMP or UPnP IGD), which knows the address it translates us to: its
 *   answer is authoritative and outranks every vote;
 * - remote nodes and peers, which say what source address they see: BEP 42's `ip` in DHT
 *   answers and BEP 10's `yourip` in extension handshakes. These are votes, and anyone can
 *   vote anything, so a vote counts once per source IP (a source that votes again replaces
 *   its vote), only votes younger than `voteTtlMs` count, at most `maxVoters` sources are
 *   remembered (the oldest forgotten first), and an address needs `quorum` distinct sources.
 *   A public address is never replaced by a private, link-local or loopback one from votes;
 *   those can win only where nothing public is known (as on a loopback test network, where
 *   they are harmless: BEP 42 exempts them and trackers are never told them).
 *
 * `onChange` hears each new winner; a winner stays until another one beats it.
 */
import type { Clock } from '../util/clock.js';
import { addressScope, formatIp, ipFamily, parseIp, type IpFamily } from '../util/ip.js';

export interface ExternalAddressOptions {
  readonly clock: Clock;
  readonly onChange?: (family: IpFamily, address: string) => void;
  /** Distinct sources an address needs before votes may decide. Default 3. */
  readonly quorum?: number;
  /** Sources remembered. Default 256. */
  readonly maxVoters?: number;
  /** How long a vote counts. Default one hour. */
  readonly voteTtlMs?: number;
}

interface Vote {
  readonly address: string;
  readonly family: IpFamily;
  readonly at: number;
}

export class ExternalAddressStore {
  private readonly router = new Map<IpFamily, string>();
  private readonly votes = new Map<string, Vote>();
  private readonly current = new Map<IpFamily, string>();
  private readonly quorum: number;
  private readonly maxVoters: number;
  private readonly ttl: number;

  constructor(private readonly opts: ExternalAddressOptions) {
    this.quorum = opts.quorum ?? 3;
    this.maxVoters = opts.maxVoters ?? 256;
    this.ttl = opts.voteTtlMs ?? 3_600_000;
  }

  /** The address we believe the internet sees for `family`, if any. */
  address(family: IpFamily): string | undefined {
    return this.current.get(family);
  }

  /** The router's answer: it decides for its family from now on. */
  fromRouter(address: string): void {
    const a = canonical(address);
    if (a === undefined || addressScope(a.text) === 'loopback' || !unicast(a.text)) return;
    this.router.set(a.family, a.text);
    this.settle(a.family);
  }

  /** `voter` (an IP literal) says it sees us at `address`; only a voter of the same family can. */
  vote(address: string, voter: string): void {
    const a = canonical(address);
    const v = canonical(voter);
    if (a === undefined || v === undefined || a.family !== v.family || !unicast(a.text)) return;
    this.votes.delete(v.text);
    while (this.votes.size >= this.maxVoters) this.votes.delete(this.votes.keys().next().value!);
    this.votes.set(v.text, { address: a.text, family: a.family, at: this.opts.clock.now() });
    this.settle(a.family);
  }

  /**
   * What trackers are told (BEP 7 `ipv4=`/`ipv6=`): only public addresses; a local one would
   * send the tracker's other peers nowhere.
   */
  forTrackers(): { ipv4?: string; ipv6?: string } {
    const v4 = this.current.get(4);
    const v6 = this.current.get(6);
    return { ...(v4 !== undefined && isPublic(v4) ? { ipv4: v4 } : {}), ...(v6 !== undefined && isPublic(v6) ? { ipv6: v6 } : {}) };
  }

  /** Number of sources remembered (for tests of the bound). */
  get voterCount(): number {
    return this.votes.size;
  }

  private settle(family: IpFamily): void {
    const next = this.router.get(family) ?? this.fromVotes(family);
    const now = this.current.get(family);
    if (next === undefined || next === now) return;
    // Votes never trade a public address for a local one; the router may (it knows).
    if (!this.router.has(family) && now !== undefined && isPublic(now) && !isPublic(next)) return;
    this.current.set(family, next);
    try {
      this.opts.onChange?.(family, next);
    } catch {
      // an observer's failure is not the store's
    }
  }

  /** The address with the most distinct live voters (at least `quorum`), public ones first; ties keep the current one. */
  private fromVotes(family: IpFamily): string | undefined {
    const now = this.opts.clock.now();
    const tally = new Map<string, number>();
    for (const [voter, v] of this.votes) {
      if (now - v.at >= this.ttl) {
        this.votes.delete(voter);
        continue;
      }
      if (v.family === family) tally.set(v.address, (tally.get(v.address) ?? 0) + 1);
    }
    const current = this.current.get(family);
    let best: string | undefined;
    let bestRank = -1;
    for (const [address, count] of tally) {
      if (count < this.quorum) continue;
      // Public beats local whatever the counts; then the count; the current address wins a tie.
      const rank = (isPublic(address) ? 1e9 : 0) + count * 2 + (address === current ? 1 : 0);
      if (rank > bestRank) {
        best = address;
        bestRank = rank;
      }
    }
    return best;
  }
}

function canonical(ip: string): { text: string; family: IpFamily } | undefined {
  const family = ipFamily(ip);
  const bytes = parseIp(ip);
  const text = bytes === undefined ? undefined : formatIp(bytes);
  return family === undefined || text === undefined ? undefined : { text, family };
}

function isPublic(ip: string): boolean {
  return addressScope(ip) === 'public';
}

/** Not unspecified, multicast or broadcast: an address a host can have. */
function unicast(ip: string): boolean {
  if (ip === '0.0.0.0' || ip === '::' || /^ff/i.test(ip)) return false;
  return ipFamily(ip) === 6 || Number(ip.split('.')[0]) < 224;
}
