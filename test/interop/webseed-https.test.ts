/**
 * An HTTPS web seed: nginx serves TLS with a self-signed certificate made by openssl in the
 * test. A session told to trust that certificate (the `webSeedCa` option) downloads from it;
 * one that is not refuses the certificate, gets nothing from it, and says why.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Session } from '../../src/index.js';
import { compareTrees, writeRandomFile } from '../helpers/data.js';
import { startNginx, type Nginx } from '../helpers/nginx.js';
import { run, sleep, stopAll } from '../helpers/proc.js';
import { createSwarm, type Swarm } from '../helpers/swarm.js';
import { makeTorrent, type TorrentMeta } from '../helpers/torrents.js';

const MiB = 1024 * 1024;
const LOOPBACK = { host: '127.0.0.1', port: 0, dht: false as const };

describe('web seed over HTTPS (nginx, self-signed certificate)', { timeout: 300_000 }, () => {
  let swarm: Swarm;
  let nginx: Nginx;
  let torrent: TorrentMeta;
  let cert: string;

  before(async () => {
    swarm = await createSwarm({ label: 'webseed-tls', tracker: 'none' });
    const certPath = join(swarm.root, 'cert.pem');
    const keyPath = join(swarm.root, 'key.pem');
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], 60_000);
    cert = await readFile(certPath, 'utf8');
    await writeRandomFile(join(swarm.dataDir, 'secure.bin'), 3 * MiB + 999, 'tls');
    nginx = await startNginx({ root: swarm.dataDir, workDir: join(swarm.root, 'nginx'), tls: { cert: certPath, key: keyPath } });
    torrent = await makeTorrent({ source: join(swarm.dataDir, 'secure.bin'), out: join(swarm.root, 'secure.torrent'), pieceLengthLog2: 18, webSeeds: [`${nginx.base}/secure.bin`] });
  });

  after(async () => {
    await stopAll();
    await swarm?.dispose();
  });

  test('trusted through the webSeedCa option: downloaded over TLS, byte for byte', async () => {
    const session = new Session({ ...LOOPBACK, webSeedCa: cert });
    try {
      const out = await swarm.newOutDir('trusted');
      const h = await session.add(torrent.torrentPath, { path: out, trackers: false });
      await h.whenDone();
      await compareTrees(join(swarm.dataDir, 'secure.bin'), join(out, 'secure.bin'));
      assert.equal(h.stats().webSeedBytes, torrent.totalLength);
      assert.ok((await nginx.requests()).some((r) => /^GET \/secure\.bin 206 /.test(r)));
    } finally {
      await session.close();
    }
  });

  test('not trusted: the certificate is refused and nothing is taken from the server', async () => {
    const session = new Session(LOOPBACK);
    try {
      const out = await swarm.newOutDir('untrusted');
      const before = (await nginx.requests()).length;
      const h = await session.add(torrent.torrentPath, { path: out, trackers: false });
      const seen: string[] = [];
      h.on('warning', (w) => {
        if (w.code === 'web-seed') seen.push(w.message);
      });
      for (let i = 0; i < 200 && seen.length === 0; i++) await sleep(50);
      assert.match(seen[0] ?? '', /certificate/);
      assert.equal(h.stats().webSeedBytes, 0);
      assert.equal(h.stats().verified, 0);
      assert.equal((await nginx.requests()).length, before, 'no request got past the TLS handshake');
    } finally {
      await session.close();
    }
  });
});
