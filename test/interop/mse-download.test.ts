/**
 * MSE/PE against real clients that require encryption (issue: peers set to require it refuse a
 * plaintext handshake). Each seeder refuses plaintext peers; Tessera dials it directly and the
 * download must be byte-identical. With `--encryption off` the failure must say why.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stopAll } from '../helpers/proc.js';
import { startAria2Seeder, startLibtorrentSeeder, startTransmissionSeeder, type Seeder, type SeederOptions } from '../helpers/seeders.js';
import { createSwarm, downloadAndVerify, required, type Swarm } from '../helpers/swarm.js';
import { startDownload } from '../helpers/tessera.js';

const MiB = 1024 * 1024;
const DOWNLOAD_TIMEOUT_MS = 240_000;

describe('download from real clients that require encryption (MSE/PE)', { timeout: 1_200_000 }, () => {
  let swarm: Swarm | undefined;

  before(async () => {
    swarm = await createSwarm({ label: 'mse-download', singleSize: 24 * MiB, tracker: 'none' });
  });

  after(async () => {
    await stopAll();
    await swarm?.dispose();
  });

  const withSeeder = async (label: string, start: (o: SeederOptions) => Promise<Seeder>, run: (s: Swarm, seeder: Seeder) => Promise<void>): Promise<void> => {
    const s = required(swarm, 'swarm');
    const meta = required(s.single, 'single-file torrent');
    const seeder = await start({ torrents: [meta], dataDir: s.dataDir, workDir: join(s.root, `seeder-${label}`), requireEncryption: true });
    try {
      await run(s, seeder);
    } finally {
      await seeder.stop();
    }
  };

  const download = (label: string, start: (o: SeederOptions) => Promise<Seeder>, args: readonly string[] = []): Promise<void> =>
    withSeeder(label, start, async (s, seeder) => {
      const meta = required(s.single, 'single-file torrent');
      const summary = await downloadAndVerify(s, meta, await s.newOutDir(label), DOWNLOAD_TIMEOUT_MS, [`127.0.0.1:${seeder.port}`], args);
      assert.ok(summary.bytesDownloaded >= meta.totalLength, `every byte came over the encrypted connection: ${summary.line}`);
      assert.equal(summary.hashFailures, 0, summary.line);
    });

  test('from libtorrent with encryption forced (out_enc_policy=0, in_enc_policy=0, RC4 only), default policy', () => download('lt-prefer', startLibtorrentSeeder));
  test('from libtorrent with encryption forced, --encryption require', () => download('lt-require', startLibtorrentSeeder, ['--encryption', 'require']));
  test('from aria2c with --bt-require-crypto=true', () => download('aria2', startAria2Seeder));
  test('from Transmission with encryption required', () => download('transmission', startTransmissionSeeder));

  test('--encryption off: the no-peer error and --verbose name the peer that required encryption', () =>
    withSeeder('lt-off', startLibtorrentSeeder, async (s, seeder) => {
      const meta = required(s.single, 'single-file torrent');
      const proc = await startDownload({
        torrent: meta.torrentPath,
        outDir: await s.newOutDir('off'),
        peers: [`127.0.0.1:${seeder.port}`],
        args: ['--encryption', 'off', '--timeout', '15', '--verbose'],
      });
      const exit = await proc.waitForExit(120_000);
      assert.equal(exit.code, 1, `no peer reachable is exit 1\n${proc.tail()}`);
      assert.match(proc.stderr, /no peer reachable for 15 s; 1 peer required encryption \(try --encryption prefer\)/, proc.tail());
      assert.match(proc.stderr, new RegExp(`peer 127\\.0\\.0\\.1:${seeder.port} requires encryption`), proc.tail());
      assert.doesNotMatch(proc.stderr, /\n\s+at /, 'no stack trace');
    }));
});
