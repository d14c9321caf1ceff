/**
 * `tessera peers <file.torrent|magnet> [--json]`: announce to every tracker of a torrent or
 * magnet link and print what each returned. Each tracker that answered gets an
 * `event=stopped` right after, so the lookup leaves no trace in its swarm.
 *
 * Hidden knobs for tests, read from the environment (not worth a documented flag):
 *   TESSERA_TRACKER_TIMEOUT_MS  HTTP timeout per tracker (default 15000)
 *   TESSERA_UDP_TIMEOUT_MS      BEP 15 base retransmission timeout (default 15000)
 *   TESSERA_UDP_RETRIES         highest n in base·2^n (default 1, so a dead UDP tracker costs 45 s, not BEP 15's hour)
 */
import { parseTorrentOrMagnet } from '../../metainfo/index.js';
import { TrackerSet, UdpTrackerClient, type AnnounceOutcome, type AnnounceParams } from '../../tracker/index.js';
import { toHex } from '../../util/bytes.js';
import { generatePeerId } from '../../util/peer-id.js';
import { CliError, ExitCode, safeText, type CliContext, type Command } from '../context.js';
import { parseCommandLine } from '../options.js';
import { peersSpec } from '../specs.js';

/** We do not listen: the port is only there because announces require one. */
const ANNOUNCE_PORT = 6881;

interface Target {
  readonly infoHash: Uint8Array;
  readonly tiers: readonly (readonly string[])[];
  readonly left: number;
}

function envInt(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new CliError(ExitCode.usage, `${name} must be an integer from ${min} to ${max}`);
  return n;
}

async function loadTarget(arg: string): Promise<Target> {
  const parsed = await parseTorrentOrMagnet(arg);
  if (parsed.kind === 'torrent') {
    // left > 0: some trackers hand seeders to leechers only.
    return { infoHash: parsed.meta.infoHash, tiers: parsed.meta.announce, left: Math.max(1, parsed.meta.info.length) };
  }
  if (parsed.magnet.infoHash === undefined) throw new CliError(ExitCode.badInput, 'the magnet link has no v1 info hash (urn:btih), which trackers need');
  // A magnet's trackers are one tier each (BEP 9 lists them flat); the size is unknown.
  return { infoHash: parsed.magnet.infoHash, tiers: parsed.magnet.trackers.map((t) => [t]), left: 1 };
}

export const peersCommand: Command = async (argv, ctx) => {
  const { values, positionals } = parseCommandLine(argv, peersSpec);
  const json = values.json;
  const target = await loadTarget(positionals[0]!);
  const udp = new UdpTrackerClient({
    baseTimeoutMs: envInt('TESSERA_UDP_TIMEOUT_MS', 15_000, 1, 60_000),
    maxRetries: envInt('TESSERA_UDP_RETRIES', 1, 0, 8),
  });
  try {
    const set = new TrackerSet(target.tiers, { udp, timeoutMs: envInt('TESSERA_TRACKER_TIMEOUT_MS', 15_000, 1, 120_000) });
    if (set.urls.length === 0) {
      if (json) ctx.stdout.write(`${JSON.stringify({ infoHash: toHex(target.infoHash), trackers: [] })}\n`);
      else ctx.stderr.write('tessera: this torrent lists no trackers\n');
      return ExitCode.failed;
    }
    const params: AnnounceParams = {
      infoHash: target.infoHash,
      peerId: generatePeerId(),
      port: ANNOUNCE_PORT,
      uploaded: 0,
      downloaded: 0,
      left: target.left,
      numWant: 200,
      signal: ctx.signal,
    };
    const outcomes = await set.announceAll({ ...params, event: 'started' });
    if (ctx.signal.aborted) return ExitCode.interrupted;
    await leave(set, outcomes, params);
    print(ctx, target.infoHash, outcomes, json);
    return outcomes.some((o) => 'result' in o) ? ExitCode.ok : ExitCode.failed;
  } finally {
    udp.close();
  }
};

/** `event=stopped` to each tracker that answered; failures here change nothing for the user. */
async function leave(set: TrackerSet, outcomes: readonly AnnounceOutcome[], params: AnnounceParams): Promise<void> {
  const answered = new Set(outcomes.filter((o) => 'result' in o).map((o) => o.url));
  if (answered.size === 0) return;
  await set.announceAll({ ...params, event: 'stopped', numWant: 0 }, [...answered]);
}

function print(ctx: CliContext, infoHash: Uint8Array, outcomes: readonly AnnounceOutcome[], json: boolean): void {
  if (json) {
    const trackers = outcomes.map((o) =>
      'result' in o
        ? {
            url: o.url,
            ok: true,
            interval: o.result.interval,
            ...(o.result.complete === undefined ? {} : { complete: o.result.complete }),
            ...(o.result.incomplete === undefined ? {} : { incomplete: o.result.incomplete }),
            ...(o.result.warning === undefined ? {} : { warning: o.result.warning }),
            peers: o.result.peers.map((p) => ({ host: p.host, port: p.port })),
          }
        : { url: o.url, ok: false, code: o.error.code, error: o.error.message },
    );
    ctx.stdout.write(`${JSON.stringify({ infoHash: toHex(infoHash), trackers })}\n`);
    return;
  }
  const lines = [`info hash ${toHex(infoHash)}`];
  for (const o of outcomes) {
    const url = safeText(o.url);
    if ('error' in o) {
      lines.push(`${url}: error: ${safeText(o.error.message)}`);
      continue;
    }
    const r = o.result;
    const counts = r.complete === undefined && r.incomplete === undefined ? '' : ` (${r.complete ?? '?'} seeders, ${r.incomplete ?? '?'} leechers)`;
    lines.push(`${url}: ${r.peers.length} peer${r.peers.length === 1 ? '' : 's'}${counts}`);
    if (r.warning !== undefined) lines.push(`  warning: ${safeText(r.warning)}`);
    for (const p of r.peers) lines.push(`  ${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`);
  }
  ctx.stdout.write(`${lines.join('\n')}\n`);
}
