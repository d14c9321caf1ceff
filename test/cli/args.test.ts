import { test } from 'node:test';
import { homedir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { parseDuration, parsePeerArg } from '../../src/cli/args.js';
import { dhtOptionsOf } from '../../src/cli/commands/download.js';
import { CliError, ExitCode } from '../../src/cli/context.js';
import { formatDuration, progressLine } from '../../src/cli/progress.js';
import type { TorrentStats } from '../../src/session/torrent-types.js';

test('peer arguments', () => {
  assert.deepEqual(parsePeerArg('127.0.0.1:6881'), { host: '127.0.0.1', port: 6881 });
  assert.deepEqual(parsePeerArg('[::1]:51413'), { host: '::1', port: 51413 });
  for (const bad of ['127.0.0.1', '127.0.0.1:0', '127.0.0.1:70000', '::1:80', 'x:y']) {
    assert.throws(() => parsePeerArg(bad), CliError, bad);
  }
});

test('DHT options of --no-dht and --dht-bootstrap', () => {
  assert.equal(dhtOptionsOf(true, ['127.0.0.1:6881']), false);
  // The public DHT (the session's default bootstrap) is the only one whose routing table is cached.
  assert.deepEqual(dhtOptionsOf(false, undefined, { XDG_CACHE_HOME: '/cache' }), { stateFile: '/cache/tessera/dht.json' });
  assert.deepEqual(dhtOptionsOf(false, [], { XDG_CACHE_HOME: '' }), { stateFile: join(homedir(), '.cache', 'tessera', 'dht.json') });
  assert.deepEqual(dhtOptionsOf(false, ['127.0.0.1:7000', '[::1]:7001']), { bootstrap: [{ host: '127.0.0.1', port: 7000 }, { host: '::1', port: 7001 }] });
  assert.throws(() => dhtOptionsOf(false, ['nowhere']), (e: unknown) => e instanceof CliError && e.exitCode === ExitCode.usage && e.message.includes("'nowhere'"));
});

test('durations', () => {
  assert.equal(parseDuration('90', '--t'), 90);
  assert.equal(parseDuration('15m', '--t'), 900);
  assert.equal(parseDuration('2h', '--t'), 7200);
  assert.equal(parseDuration('1d', '--t'), 86400);
  assert.throws(() => parseDuration('soon', '--t'), CliError);
});

test('progress line', () => {
  assert.equal(formatDuration(3725), '1:02:05');
  assert.equal(formatDuration(65), '01:05');
  assert.equal(formatDuration(Infinity), '--:--');
  const stats: TorrentStats = {
      state: 'downloading', verified: 1, pieceCount: 4, bytesVerified: 512, totalBytes: 2048, sizeBytes: 2048, downloaded: 512, uploaded: 0,
      downRate: 512, upRate: 0, peers: 2, knownPeers: 3, hashFailures: 0, banned: 0, webSeedBytes: 0, resumedBytes: 0,
      found: { tracker: 0, dht: 0, pex: 0, lsd: 0, manual: 0, incoming: 0 },
  };
  const line = progressLine(stats, 120);
  assert.match(line, /^\[#+-+\]  25\.0%  512 B \/ 2\.00 KiB  down 512 B\/s  up 0 B\/s  peers 2\/3  ETA 00:03$/);
});
