/**
 * Shutdown is bounded whatever the trackers do: `tessera download` exits within 3 s of the
 * last verified piece, and within 3 s of Ctrl-C, while its HTTP tracker answers `started`
 * and then never answers again (not `completed`, not `stopped`) and its UDP tracker never
 * answers at all (both started by this test on loopback). A real process, since what holds a process open is only visible from outside;
 * the bound is a correctness bound (the trackers' own timeouts are 15 s and more), measured
 * from when this test sees the event, so it includes the time to notice it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encode } from '../../src/bencode/index.js';
import { ExitCode } from '../../src/cli/context.js';
import { memoryTorrent, startMemorySwarm, type RunningSwarm } from '../session/memory-swarm.js';
import { freePort } from '../helpers/ports.js';
import { startProc, stopAll, type Proc } from '../helpers/proc.js';
import { cliPath } from '../helpers/tessera.js';
import { FakeUdpTracker } from '../tracker/fake-udp-tracker.js';

/** The bound under test, plus what a loaded machine needs to notice the event and reap the process. */
const BOUND_MS = 3000;
const SLACK_MS = 2000;

const data = randomBytes(2 << 20);
const t = memoryTorrent(data, 256 << 10, 'shutdown.bin');

let dir: string;
let http: Server;
let udp: FakeUdpTracker;
let seed: RunningSwarm;
let torrentPath: string;
let httpRequests = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-shutdown-'));
  // Answers `started` (so it is owed a `stopped`), then never answers anything again.
  http = createServer((req, res) => {
    httpRequests++;
    if (req.url?.includes('event=started') === true) res.end(encode({ interval: 1800, peers: Buffer.alloc(0) }));
  });
  http.on('error', () => undefined);
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  udp = await FakeUdpTracker.start();
  const httpUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}/announce`;
  const head = encode({ announce: httpUrl, 'announce-list': [[httpUrl], [udp.url]] });
  torrentPath = join(dir, 'shutdown.torrent');
  await writeFile(torrentPath, Buffer.concat([head.subarray(0, head.length - 1), Buffer.from('4:info'), t.info, Buffer.from('e')]));
  seed = await startMemorySwarm(t, { complete: true });
});

after(async () => {
  await stopAll();
  await seed?.stop();
  http?.closeAllConnections();
  await new Promise((r) => http?.close(r));
  await udp?.close();
  await rm(dir, { recursive: true, force: true });
});

async function download(out: string, peers: string[]): Promise<Proc> {
  const args = [cliPath, 'download', torrentPath, '-o', join(dir, out), '--port', String(await freePort()), '--no-dht', '--quiet'];
  for (const p of peers) args.push('--peer', p);
  return startProc('tessera', process.execPath, args, { graceMs: 5000 });
}

/** Ms from now until the process exits (rejects after a minute). */
async function msToExit(p: Proc): Promise<{ ms: number; code: number | null }> {
  const start = performance.now();
  const info = await p.waitForExit(60_000);
  return { ms: performance.now() - start, code: info.code };
}

describe('shutdown with trackers that never answer', { timeout: 120_000 }, () => {
  test('the process exits within 3 s of completing the download', async (tc) => {
    const p = await download('done', [`127.0.0.1:${seed.port}`]);
    await p.waitForLine(/^complete: /, 60_000);
    const { ms, code } = await msToExit(p);
    tc.diagnostic(`exit ${Math.round(ms)} ms after the completion line`);
    assert.equal(code, ExitCode.ok, p.tail());
    assert.ok(httpRequests > 0 || udp.received.length > 0, 'the trackers were asked');
    assert.ok(ms < BOUND_MS + SLACK_MS, `exited ${Math.round(ms)} ms after completing\n${p.tail()}`);
    assert.deepEqual(await readFile(join(dir, 'done', 'shutdown.bin')), data);
  });

  test('the process exits within 3 s of Ctrl-C while the trackers hang', async (tc) => {
    const before = { http: httpRequests, udp: udp.received.length };
    // No peer: nothing to do but wait for the trackers.
    const p = await download('interrupted', []);
    const deadline = Date.now() + 30_000;
    while (httpRequests === before.http && udp.received.length === before.udp) {
      assert.ok(Date.now() < deadline && p.running, `the trackers were never asked\n${p.tail()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    p.signal('SIGINT');
    const { ms, code } = await msToExit(p);
    tc.diagnostic(`exit ${Math.round(ms)} ms after SIGINT`);
    assert.equal(code, ExitCode.interrupted, p.tail());
    assert.ok(ms < BOUND_MS + SLACK_MS, `exited ${Math.round(ms)} ms after Ctrl-C\n${p.tail()}`);
  });
});
