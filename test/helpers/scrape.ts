/**
 * Tracker scrape over HTTP (BEP 48) for test readiness checks: a download test starts only
 * once the tracker lists its seeders, because a leecher that got no peers would otherwise
 * wait a whole announce interval.
 */
import { get } from 'node:http';
import { asDict, asNumber, decode } from './bencode-lite.js';
import { sleep } from './proc.js';
import type { Seeder } from './seeders.js';

export interface ScrapeCounts {
  readonly complete: number;
  readonly incomplete: number;
}

function fetchBody(url: string, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // no keep-alive agent: opentracker closes the connection after each reply
    const req = get(url, { timeout: timeoutMs, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > 1 << 20) req.destroy(new Error('scrape reply too large'));
        else chunks.push(c);
      });
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`scrape timed out: ${url}`)));
    req.on('error', reject);
  });
}

/** Seeders and leechers the tracker at `host`:`port` (default 127.0.0.1) lists for `infoHash`. */
export async function scrape(port: number, infoHash: Buffer, host = '127.0.0.1'): Promise<ScrapeCounts> {
  const escaped = [...infoHash].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  const authority = host.includes(':') ? `[${host}]` : host;
  const body = await fetchBody(`http://${authority}:${port}/scrape?info_hash=${escaped}`, 2000);
  const files = asDict(asDict(decode(body), 'scrape reply').get('files')?.value, 'files');
  const entry = files.get(infoHash.toString('latin1'));
  if (entry === undefined) return { complete: 0, incomplete: 0 };
  const counts = asDict(entry.value, 'scrape entry');
  return {
    complete: asNumber(counts.get('complete')?.value, 'complete'),
    incomplete: asNumber(counts.get('incomplete')?.value, 'incomplete'),
  };
}

/**
 * Wait until the tracker lists at least `min` peers (seeders plus leechers) for every info
 * hash, asking the seeders to re-announce now and then.
 */
export async function waitForTrackerPeers(
  trackerPort: number,
  infoHashes: readonly Buffer[],
  min: number,
  seeders: readonly Seeder[],
  timeoutMs = 60_000,
  host = '127.0.0.1',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (let round = 1; ; round++) {
    const counts = await Promise.all(infoHashes.map((h) => scrape(trackerPort, h, host).catch((e: Error) => e)));
    last = counts.map((c) => (c instanceof Error ? c.message : `${c.complete}+${c.incomplete}`)).join(', ');
    if (counts.every((c) => !(c instanceof Error) && c.complete + c.incomplete >= min)) return;
    if (Date.now() > deadline) throw new Error(`tracker on port ${trackerPort} lists fewer than ${min} peers after ${timeoutMs} ms (seeders+leechers: ${last})`);
    if (round % 10 === 0) await Promise.all(seeders.map((s) => s.reannounce().catch(() => undefined)));
    await sleep(250);
  }
}
