/** `tessera tracker`: prints its URLs, serves HTTP and UDP, stops cleanly on SIGTERM. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { startProc, stopAll } from '../helpers/proc.js';
import { announce } from '../../src/tracker/announce.js';
import { UdpTrackerClient } from '../../src/tracker/udp-client.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const udp = new UdpTrackerClient({ baseTimeoutMs: 200, maxRetries: 2 });
after(async () => {
  udp.close();
  await stopAll();
});

const params = (n: number) => ({
  infoHash: Buffer.alloc(20, 9),
  peerId: Buffer.alloc(20, n),
  port: 20_000 + n,
  uploaded: 0,
  downloaded: 0,
  left: 1,
});

test('runs until SIGTERM, serving announces over HTTP and UDP', async () => {
  const proc = startProc('tessera-tracker', process.execPath, [cli, 'tracker', '--http-port', '0', '--udp-port', '0', '--host', '127.0.0.1']);
  const httpUrl = (await proc.waitForLine(/^\s+http:\/\/127\.0\.0\.1:\d+\/announce$/, 10_000)).trim();
  const udpUrl = (await proc.waitForLine(/^\s+udp:\/\/127\.0\.0\.1:\d+\/announce$/, 10_000)).trim();
  await announce(httpUrl, params(1));
  const r = await udp.announce(udpUrl, params(2));
  assert.deepEqual(r.peers, [{ host: '127.0.0.1', port: 20_001 }]);
  proc.signal('SIGTERM');
  const exit = await proc.waitForExit(10_000);
  assert.equal(exit.code, 0, proc.tail());
  assert.match(proc.stdout, /tracker stopped/);
});

test('bad options exit 2 with the usage', async () => {
  for (const args of [['--http-port', '70000'], ['--udp-port'], ['--bogus'], ['--host', 'not-an-ip']]) {
    const proc = startProc('tessera-tracker', process.execPath, [cli, 'tracker', ...args]);
    const exit = await proc.waitForExit(10_000);
    assert.equal(exit.code, args[1] === 'not-an-ip' ? 1 : 2, `${args.join(' ')}: ${proc.tail()}`);
  }
});

test('Ctrl-C exits 130; a port in use is named with its flag', async () => {
  const proc = startProc('tessera-tracker', process.execPath, [cli, 'tracker', '--http-port', '0', '--udp-port', '0']);
  const httpUrl = (await proc.waitForLine(/^\s+http:\/\/127\.0\.0\.1:\d+\/announce$/, 10_000)).trim();
  const port = new URL(httpUrl).port;
  const clash = startProc('tessera-tracker-2', process.execPath, [cli, 'tracker', '--http-port', port, '--udp-port', '0']);
  const clashExit = await clash.waitForExit(10_000);
  assert.equal(clashExit.code, 1, clash.tail());
  assert.match(clash.stderr, new RegExp(`^tessera: port ${port} is already in use \\(choose another with --http-port, 0 for any free one\\)\\n$`));
  proc.signal('SIGINT');
  const exit = await proc.waitForExit(10_000);
  assert.equal(exit.code, 130, proc.tail());
});
