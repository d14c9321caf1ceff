/**
 * The daemon's HTTP server in this process, on loopback, each gate tried with the request it
 * must refuse: a wrong password (also with the real transmission-remote), a foreign Host
 * header, an oversized body (declared and streamed), a download-dir or file path outside the
 * allowed folders, a cross-site API request; the X-Transmission-Session-Id handshake; and any
 * JSON body at all answered with a result, never a crash.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { mergeSettings } from '../../src/daemon/config.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { DaemonError } from '../../src/daemon/errors.js';
import { handleRpc } from '../../src/daemon/rpc.js';
import { DaemonServer } from '../../src/daemon/server.js';
import { run } from '../helpers/proc.js';

const USER = 'alice';
const PASS = 'correct horse';
const MAX_BODY = 64 * 1024;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(port: number, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer; chunks?: number }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: opts.method ?? 'POST', path: opts.path, headers: opts.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? resolve({ status: -1, headers: {}, body: '' }) : reject(err)));
    if (opts.chunks !== undefined) {
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      let i = 0;
      const write = (): void => {
        if (i++ >= opts.chunks! || req.destroyed) return void req.end();
        if (req.write(chunk)) setImmediate(write);
        else req.once('drain', write);
      };
      write();
    } else req.end(opts.body);
  });
}

describe('daemon HTTP server: every gate refuses what it must', { timeout: 120_000 }, () => {
  let root = '';
  let downloads = '';
  let daemon: Daemon;
  let server: DaemonServer;
  let port = 0;
  let sessionId = '';
  const auth = `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`;
  const host = (): string => `127.0.0.1:${port}`;

  const rpc = async (body: unknown, extra: Record<string, string> = {}): Promise<Reply> =>
    send(port, { path: '/transmission/rpc', headers: { Host: host(), Authorization: auth, 'X-Transmission-Session-Id': sessionId, 'Content-Type': 'application/json', ...extra }, body: JSON.stringify(body) });

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'tessera-daemon-server-'));
    downloads = join(root, 'downloads');
    await mkdir(join(root, 'outside'), { recursive: true });
    await mkdir(downloads, { recursive: true });
    await symlink(join(root, 'outside'), join(downloads, 'escape'));
    const settings = mergeSettings({}, { downloadDir: downloads, dht: false, rpcUsername: USER, rpcPassword: PASS, rpcHostWhitelist: ['nas.lan'], rpcMaxBody: MAX_BODY });
    daemon = await Daemon.start({ settings, configDir: join(root, 'config'), session: { host: '127.0.0.1', port: 0 } });
    server = await DaemonServer.listen({ daemon, host: '127.0.0.1', port: 0, username: USER, password: PASS, hostWhitelist: ['nas.lan'], maxBody: MAX_BODY, version: 'test' });
    port = server.port;
  });

  after(async () => {
    await server?.close();
    await daemon?.close();
    await rm(root, { recursive: true, force: true });
  });

  test('the session-id handshake: 409 with the id, then the call goes through', async () => {
    const first = await rpc({ method: 'session-get' });
    assert.equal(first.status, 409);
    sessionId = String(first.headers['x-transmission-session-id']);
    assert.ok(sessionId.length >= 32);
    const second = await rpc({ method: 'session-get', tag: 7 });
    assert.equal(second.status, 200);
    const json = JSON.parse(second.body) as { result: string; tag: number };
    assert.equal(json.result, 'success');
    assert.equal(json.tag, 7);
  });

  test('a wrong or missing password is refused with a challenge', async () => {
    for (const a of [`Basic ${Buffer.from(`${USER}:wrong`).toString('base64')}`, `Basic ${Buffer.from(`mallory:${PASS}`).toString('base64')}`, '']) {
      const r = await rpc({ method: 'session-get' }, { Authorization: a });
      assert.equal(r.status, 401);
      assert.match(String(r.headers['www-authenticate']), /^Basic realm=/);
    }
    const page = await send(port, { method: 'GET', path: '/', headers: { Host: host() } });
    assert.equal(page.status, 401);
  });

  test('transmission-remote: a wrong password fails, the right one lists', async () => {
    await assert.rejects(run('transmission-remote', [host(), '--auth', `${USER}:nope`, '-l'], 20_000), /401|Unauthorized|failed/);
    const ok = await run('transmission-remote', [host(), '--auth', `${USER}:${PASS}`, '-l'], 20_000);
    assert.match(ok.stdout, /Sum:/);
  });

  test('a foreign Host header is refused (DNS rebinding), a listed one served', async () => {
    for (const h of ['evil.example', `evil.example:${port}`, `127.0.0.1.nip.io:${port}`]) {
      const r = await rpc({ method: 'session-get' }, { Host: h });
      assert.equal(r.status, 421, h);
    }
    const listed = await rpc({ method: 'session-get' }, { Host: `nas.lan:${port}` });
    assert.equal(listed.status, 200);
    const local = await rpc({ method: 'session-get' }, { Host: `localhost:${port}` });
    assert.equal(local.status, 200);
  });

  test('an oversized body is refused, declared or streamed', async () => {
    const declared = await send(port, {
      path: '/transmission/rpc',
      headers: { Host: host(), Authorization: auth, 'X-Transmission-Session-Id': sessionId, 'Content-Length': String(MAX_BODY + 1) },
      body: Buffer.alloc(MAX_BODY + 1, 0x20),
    });
    assert.ok(declared.status === 413 || declared.status === -1, `status ${declared.status}`);
    const streamed = await send(port, { path: '/transmission/rpc', headers: { Host: host(), Authorization: auth, 'X-Transmission-Session-Id': sessionId, 'Transfer-Encoding': 'chunked' }, chunks: 64 });
    assert.ok(streamed.status === 413 || streamed.status === -1, `status ${streamed.status}`);
    const api = await send(port, { path: '/api/torrents', headers: { Host: host(), Authorization: auth, 'Content-Type': 'application/json' }, body: `{"magnet":"${'x'.repeat(MAX_BODY)}"}` });
    assert.equal(api.status, 413);
    // The server still answers.
    assert.equal((await rpc({ method: 'session-get' })).status, 200);
  });

  test('a download-dir or file outside the allowed folders is refused', async () => {
    const magnet = 'magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567';
    for (const dir of ['/etc', join(downloads, '..', 'outside'), `${downloads}/../outside`, join(downloads, 'escape'), join(downloads, 'escape', 'deeper'), 'relative/dir', `${downloads}-other`]) {
      const r = JSON.parse((await rpc({ method: 'torrent-add', arguments: { filename: magnet, 'download-dir': dir } })).body) as { result: string };
      assert.match(r.result, /not inside an allowed folder/, dir);
      const s = JSON.parse((await rpc({ method: 'session-set', arguments: { 'download-dir': dir } })).body) as { result: string };
      assert.match(s.result, /not inside an allowed folder/, dir);
    }
    for (const file of ['/etc/passwd', join(downloads, 'escape', 'x.torrent')]) {
      const r = JSON.parse((await rpc({ method: 'torrent-add', arguments: { filename: file } })).body) as { result: string };
      assert.match(r.result, /not inside an allowed folder/, file);
    }
    const fs = JSON.parse((await rpc({ method: 'free-space', arguments: { path: '/' } })).body) as { result: string };
    assert.match(fs.result, /not inside an allowed folder/);
    const api = await send(port, { path: '/api/torrents', headers: { Host: host(), Authorization: auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ magnet, downloadDir: '/tmp' }) });
    assert.equal(api.status, 403);
    assert.equal(daemon.list().length, 0, 'nothing was added');
    assert.equal(daemon.downloadDir, downloads, 'the download folder did not move');
  });

  test('the API refuses cross-site changes: no JSON type, or another Origin', async () => {
    const body = JSON.stringify({ magnet: 'magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567' });
    const form = await send(port, { path: '/api/torrents', headers: { Host: host(), Authorization: auth, 'Content-Type': 'text/plain' }, body });
    assert.equal(form.status, 415);
    const cross = await send(port, { path: '/api/torrents', headers: { Host: host(), Authorization: auth, 'Content-Type': 'application/json', Origin: 'http://evil.example' }, body });
    assert.equal(cross.status, 403);
    const nullOrigin = await send(port, { path: '/api/torrents', headers: { Host: host(), Authorization: auth, 'Content-Type': 'application/json', Origin: 'null' }, body });
    assert.equal(nullOrigin.status, 403);
    assert.equal(daemon.list().length, 0);
  });

  test('binding beyond loopback without a password is refused', async () => {
    await assert.rejects(
      DaemonServer.listen({ daemon, host: '0.0.0.0', port: 0, hostWhitelist: [], maxBody: MAX_BODY, version: 'test' }),
      (err: unknown) => err instanceof DaemonError && err.code === 'auth-required',
    );
  });

  test('any JSON body gets a result, never an exception', async () => {
    const ctx = { daemon, version: 'test', sessionId: 'x' };
    const methods = ['session-get', 'session-set', 'session-stats', 'torrent-get', 'torrent-set', 'torrent-start', 'torrent-stop', 'torrent-verify', 'torrent-remove', 'free-space', 'nope'];
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue(), fc.record({ method: fc.constantFrom(...methods), arguments: fc.jsonValue(), tag: fc.jsonValue() })), async (body) => {
        const r = await handleRpc(ctx, body);
        assert.equal(typeof r.result, 'string');
      }),
      { numRuns: 300 },
    );
    for (const method of ['toString', 'constructor', '__proto__']) assert.equal((await handleRpc(ctx, { method })).result, 'method name not recognized', method);
    assert.equal(daemon.downloadDir, downloads);
  });
});
