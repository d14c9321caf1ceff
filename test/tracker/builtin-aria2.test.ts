/**
 * The built-in tracker with real clients: an aria2c seeder and an aria2c leecher find each
 * other through it over HTTP, and the leecher's copy is byte for byte the original.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep, stopAll } from '../helpers/proc.js';
import { scrape } from '../../src/tracker/announce.js';
import { startTrackerServer, type TrackerServer } from '../../src/tracker/server.js';
import { makeTorrent, startAria2Leecher, startAria2Seeder } from './real-clients.js';

let dir = '';
let server: TrackerServer | undefined;
after(async () => {
  await stopAll();
  await server?.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

test('two aria2c, one seeding and one leeching, complete a download through the built-in tracker', async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-builtin-'));
  server = await startTrackerServer({ interval: 60 });
  const t = await makeTorrent(dir, [[server.httpUrl]]);
  const hash = Buffer.from(t.infoHashHex, 'hex');
  await startAria2Seeder(t);
  let seeders = 0;
  for (let i = 0; i < 100 && seeders < 1; i++) {
    seeders = (await scrape(server.httpUrl, [hash])).get(t.infoHashHex)?.complete ?? 0;
    if (seeders < 1) await sleep(100);
  }
  assert.equal(seeders, 1, 'the seeder announced to the built-in tracker');
  const out = join(dir, 'out');
  const leecher = await startAria2Leecher(t, out);
  const exit = await leecher.waitForExit(60_000);
  assert.equal(exit.code, 0, leecher.tail());
  assert.ok((await readFile(join(out, t.fileName))).equals(t.data), 'the download is byte for byte the original');
  const after = (await scrape(server.httpUrl, [hash])).get(t.infoHashHex);
  assert.deepEqual([after?.complete, after?.incomplete], [1, 0], 'the leecher left with event=stopped; the seeder stays');
});
