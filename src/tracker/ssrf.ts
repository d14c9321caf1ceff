/**
 * Where an HTTP tracker request may go. The torrent names the tracker URL, so a hostile
 * torrent (or a tracker's redirect) could otherwise make us GET any URL at all: a router's
 * admin page, a service on localhost, a cloud metadata endpoint (server-side request
 * forgery; libtorrent's `ssrf_mitigation`). The rules:
 *  - a tracker on a loopback address is contacted only when the announce URL's path ends in
 *    `/announce`, the conventional tracker path that local services do not use;
 *  - a redirect is followed only to the same scheme, host and port;
 *  - no hop after the first reaches a loopback, private or link-local address unless the
 *    first one did (the host name is the same, but its DNS answer may change between hops).
 * Host names are checked on the addresses they resolve to, before connecting.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { addressScope } from '../util/ip.js';
import { TrackerError } from './errors.js';

/** `dns.lookup`'s shape; injectable so a test can play a DNS answer that changes between hops. */
export type Resolver = (
  hostname: string,
  options: LookupOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
) => void;

function refused(message: string): TrackerError {
  return new TrackerError('tracker-refused', `refusing ${message}`);
}

/** The checks of one exchange (its redirects included), in hop order. */
export class RequestGuard {
  private readonly loopbackAllowed: boolean;
  private origin: string | undefined;
  /** Whether the first hop reached a loopback, private or link-local address. */
  private internal = false;

  /** `announceUrl` is the tracker's URL as the torrent names it (for a scrape too). */
  constructor(
    announceUrl: URL,
    private readonly resolve: Resolver = dnsLookup,
  ) {
    this.loopbackAllowed = announceUrl.pathname.endsWith('/announce');
  }

  /**
   * Throws unless `url` may be requested as hop `hop` (0: the first request). A literal
   * address is checked here; a host name through `lookup(hop)` when it resolves.
   */
  check(url: URL, hop: number): void {
    if (hop === 0) this.origin = url.origin;
    else if (url.origin !== this.origin) throw refused(`a redirect to another scheme, host or port (${url.protocol}//${url.host})`);
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    if (addressScope(host) !== undefined) this.admit(host, url.host, hop);
  }

  /** A DNS lookup for hop `hop` that fails, before any connection, on an address the rules refuse. */
  lookup(hop: number, hostLabel: string): LookupFunction {
    return (hostname: string, options: LookupOptions, callback) => {
      this.resolve(hostname, options, (err, address, family) => {
        if (err !== null) return callback(err, address, family);
        try {
          for (const a of typeof address === 'string' ? [address] : address) this.admit(typeof a === 'string' ? a : a.address, hostLabel, hop);
        } catch (refusal) {
          return callback(refusal as TrackerError, address, family);
        }
        callback(null, address, family);
      });
    };
  }

  private admit(address: string, hostLabel: string, hop: number): void {
    const scope = addressScope(address) ?? 'public';
    if (hop === 0) {
      if (scope === 'loopback' && !this.loopbackAllowed) {
        throw refused(`to contact ${hostLabel}: a tracker on a loopback address must have a path ending in /announce`);
      }
      this.internal ||= scope !== 'public';
    } else if (scope !== 'public' && !this.internal) {
      throw refused(`a redirect from a public tracker to a ${scope} address (${address})`);
    }
  }
}
