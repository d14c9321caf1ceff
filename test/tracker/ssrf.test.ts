/**
 * No requests to places the torrent did not name (server-side request forgery): hostile
 * trackers on loopback redirect elsewhere, and loopback URLs that are not tracker paths are
 * never contacted. Each test counts the requests every server received.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encode } from '../../src/bencode/index.js';
import { announce, scrape } from '../../src/tracker/announce.js';
import { TrackerError } from '../../src/tracker/errors.js';
import { RequestGuard, type Resolver } from '../../src/tracker/ssrf.js';
import type { AnnounceParams } from '../../src/tracker/types.js';
import { addressScope } from '../../src/util/ip.js';

interface Tracker {
  readonly host: string;
  readonly port: number;
  readonly base: string;
  readonly paths: string[];
}

const servers: Server[] = [];
after(async () => {
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

const OK = encode({ interval: 120, peers: Buffer.from('7f0000011ae1', 'hex') });

/** An HTTP server on `host` that records the path of every request it gets. */
async function tracker(reply: (req: IncomingMessage, res: ServerResponse) => void = (_q, r) => void r.end(OK), host = '127.0.0.1', port = 0): Promise<Tracker> {
  const paths: string[] = [];
  const s = createServer((req, res) => {
    paths.push((req.url ?? '').split('?')[0]!);
    reply(req, res);
  });
  servers.push(s);
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, host, resolve);
  });
  s.on('error', () => undefined);
  const p = (s.address() as AddressInfo).port;
  return { host, port: p, base: `http://${host.includes(':') ? `[${host}]` : host}:${p}`, paths };
}

const redirectTo = (location: string) => (_req: IncomingMessage, res: ServerResponse) => void res.writeHead(302, { location }).end();

const PARAMS: AnnounceParams = { infoHash: Buffer.alloc(20, 7), peerId: Buffer.alloc(20, 8), port: 6881, uploaded: 0, downloaded: 0, left: 1 };
const refused = (re: RegExp) => (e: unknown) => e instanceof TrackerError && e.code === 'tracker-refused' && e.gone && re.test(e.message);

test('a loopback tracker URL whose path does not end in /announce is never contacted', async () => {
  const t = await tracker();
  for (const path of ['/admin/reboot', '/', '/announce.php', '/announce/', '/v1/delete?all=1']) {
    await assert.rejects(announce(`${t.base}${path}`, PARAMS), refused(/loopback address must have a path ending in \/announce/), path);
    await assert.rejects(scrape(`${t.base}${path}`, [PARAMS.infoHash]), (e: unknown) => e instanceof TrackerError, path);
  }
  await assert.rejects(announce(`http://localhost:${t.port}/admin`, PARAMS), refused(/localhost/), 'a host name resolving to loopback too');
  assert.deepEqual(t.paths, [], 'nothing reached the server');
  assert.equal((await announce(`${t.base}/announce`, PARAMS)).peers.length, 1);
  assert.equal((await announce(`${t.base}/private/key/announce?passkey=x`, PARAMS)).interval, 120);
  assert.deepEqual(t.paths, ['/announce', '/private/key/announce']);
});

test('a redirect to another port, host or scheme is not followed', async () => {
  const victim = await tracker();
  // Another host: the same port on 127.0.0.2, which is a different address of this machine.
  const otherHost = await tracker(undefined, '127.0.0.2', victim.port);
  const cases = [`${victim.base}/announce`, `https://127.0.0.1:${victim.port}/announce`, `${otherHost.base}/announce`, `http://localhost:${victim.port}/announce`];
  for (const location of cases) {
    const hostile = await tracker(redirectTo(location));
    await assert.rejects(announce(`${hostile.base}/announce`, PARAMS), refused(/redirect to another scheme, host or port/), location);
    assert.deepEqual(hostile.paths, ['/announce']);
  }
  assert.deepEqual(victim.paths, [], 'the other port was never contacted');
  assert.deepEqual(otherHost.paths, [], 'the other host was never contacted');
});

test('a redirect to the same host and port is followed, whatever its path', async () => {
  const t = await tracker((req, res) => {
    if (req.url?.startsWith('/announce') === true) res.writeHead(301, { location: '/tracker.php?moved=1' }).end();
    else res.end(OK);
  });
  assert.equal((await announce(`${t.base}/announce`, PARAMS)).interval, 120);
  assert.deepEqual(t.paths, ['/announce', '/tracker.php']);
});

test('a public tracker whose name resolves to a private address on a later hop is refused (DNS rebinding)', async () => {
  const answers = ['203.0.113.5', '10.0.0.1'];
  const resolve: Resolver = (_host, _opts, cb) => cb(null, [{ address: answers.shift()!, family: 4 }], 4);
  const guard = new RequestGuard(new URL('http://tracker.example/announce'), resolve);
  const ask = (hop: number): Promise<unknown> =>
    new Promise((resolveAsk) => guard.lookup(hop, 'tracker.example')('tracker.example', { all: true }, (err) => resolveAsk(err)));
  assert.equal(await ask(0), null, 'hop 0: a public address');
  assert.ok(refused(/public tracker to a private address \(10\.0\.0\.1\)/)(await ask(1)));
  // A tracker named by a private address may redirect within its own network.
  const lan = new RequestGuard(new URL('http://192.168.1.2:6969/tracker'));
  lan.check(new URL('http://192.168.1.2:6969/tracker?x'), 0);
  lan.check(new URL('http://192.168.1.2:6969/elsewhere'), 1);
  assert.throws(() => lan.check(new URL('http://192.168.1.3:6969/tracker'), 1), refused(/another scheme, host or port/));
});

test('address scopes: loopback, private, link-local and public, IPv4 and IPv6', () => {
  const cases: [string, string | undefined][] = [
    ['127.0.0.1', 'loopback'], ['127.255.0.9', 'loopback'], ['0.0.0.0', 'loopback'], ['::1', 'loopback'], ['::', 'loopback'], ['::ffff:127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'], ['172.16.0.1', 'private'], ['172.31.255.255', 'private'], ['192.168.0.1', 'private'], ['100.64.0.1', 'private'], ['fd00::1', 'private'], ['fc00::', 'private'],
    ['169.254.169.254', 'link-local'], ['fe80::1', 'link-local'], ['::ffff:169.254.1.1', 'link-local'],
    ['172.32.0.1', 'public'], ['100.128.0.1', 'public'], ['8.8.8.8', 'public'], ['2001:db8::1', 'public'], ['::2', 'public'],
    ['example.com', undefined], ['fe80::1%eth0', undefined],
  ];
  for (const [host, scope] of cases) assert.equal(addressScope(host), scope, host);
});
