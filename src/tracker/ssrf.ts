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
 * A web seed (BEP 19) is fetched under rules of the same kind (`RequestGuard.forWebSeed`):
 *  - a web seed on a loopback address is contacted only when its URL has no query string
 *    (a plain file path, not an API call; libtorrent's rule);
 *  - a redirect may go to another host (mirrors send clients to a CDN) but never to another
 *    scheme, and the private-address rule above holds for every hop.
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
  /** Whether a redirect may change the host and port (never the scheme). */
  private readonly crossHost: boolean;
  private origin: string | undefined;
  private scheme: string | undefined;
  /** Whether the first hop reached a loopback, private or link-local address. */
  private internal = false;

  /** `announceUrl` is the tracker's URL as the torrent names it (for a scrape too). */
  constructor(
    announceUrl: URL,
    private readonly resolve: Resolver = dnsLookup,
    webSeed = false,
  ) {
    this.loopbackAllowed = webSeed ? announceUrl.search === '' : announceUrl.pathname.endsWith('/announce');
    this.crossHost = webSeed;
  }

  /** The rules for a web seed's requests (see the header). */
  static forWebSeed(url: URL, resolve: Resolver = dnsLookup): RequestGuard {
    return new RequestGuard(url, resolve, true);
  }

  /**
   * Throws unless `url` may be requested as hop `hop` (0: the first request). A literal
   * address is checked here; a host name through `lookup(hop)` when it resolves.
   */
  check(url: URL, hop: number): void {
    if (hop === 0) {
      this.origin = url.origin;
      this.scheme = url.protocol;
    } else if (this.crossHost ? url.protocol !== this.scheme : url.origin !== this.origin) {
      throw refused(`a redirect to another scheme${this.crossHost ? '' : ', host or port'} (${url.protocol}//${url.host})`);
    }
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
        const rule = this.crossHost ? 'a web seed on a loopback address may not have a query string' : 'a tracker on a loopback address must have a path ending in /announce';
        throw refused(`to contact ${hostLabel}: ${rule}`);
      }
      this.internal ||= scope !== 'public';
    } else if (scope !== 'public' && !this.internal) {
      throw refused(`a redirect from a public tracker to a ${scope} address (${address})`);
    }
  }
}
