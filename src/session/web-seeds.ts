/**
 * A torrent's web seeds (BEP 19) handed to its swarm as one more source of pieces: the URLs
 * of the torrent's `url-list`, the magnet's `ws` and the caller's, with the files named as a
 * web seed names them.
 */
import type { Metainfo } from '../metainfo/types.js';
import type { BandwidthLimit } from '../swarm/bandwidth.js';
import type { Swarm } from '../swarm/swarm.js';
import type { Clock } from '../util/clock.js';
import { WebSeeds, type WebSeedTorrent } from '../webseed/index.js';

export interface WebSeedOptions {
  readonly clock: Clock;
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  readonly downLimit?: BandwidthLimit;
  /** A web seed dropped, failing or unusable: one line for the user. */
  readonly warn: (message: string) => void;
}

/** Adds `urls` (at least one) to the swarm as one source. */
export function addWebSeeds(swarm: Swarm, meta: Metainfo, urls: readonly string[], opts: WebSeedOptions): void {
  const { warn } = opts;
  swarm.addSource((host) => {
    const seeds = new WebSeeds(urls, webSeedTorrent(meta), host, {
      clock: opts.clock,
      ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
      ...(opts.downLimit !== undefined ? { downLimit: opts.downLimit } : {}),
      onDropped: (url, reason) => warn(`${url}: dropped: ${reason}`),
      onError: (url, err) => warn(`${url}: ${err.message}`),
    });
    for (const url of seeds.skipped) warn(`${url}: not an http(s) web seed, ignored`);
    return seeds;
  });
}

/** The torrent's files as a web seed names them. */
function webSeedTorrent(meta: Metainfo): WebSeedTorrent {
  const info = meta.info;
  return {
    pieceCount: info.pieceCount,
    pieceLength: info.pieceLength,
    totalLength: info.length,
    multiFile: info.multiFile,
    name: info.name,
    files: info.files.map((f) => ({ offset: f.offset, length: f.length, pad: f.pad, urlPath: f.path })),
  };
}
