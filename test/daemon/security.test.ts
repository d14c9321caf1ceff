/**
 * The daemon's gates, as pure checks: Host allow-list (DNS rebinding), basic authentication,
 * folders kept inside the allowed roots (`..`, symbolic links, relative paths, NUL), and the
 * config file's checks, with fast-check over hostile input.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { DaemonError } from '../../src/daemon/errors.js';
import { mergeSettings, parseSettings } from '../../src/daemon/config.js';
import { basicAuthMatches, hostAllowed, hostNameOf, insideRoots, isLoopback } from '../../src/daemon/security.js';

describe('Host allow-list', () => {
  test('IP literals and localhost pass; other names only when listed', () => {
    for (const h of ['127.0.0.1:9091', '127.0.0.1', '[::1]:9091', '192.168.1.5:9091', 'localhost:9091', 'LOCALHOST', 'app.localhost:1']) assert.ok(hostAllowed(h, []), h);
    for (const h of ['evil.example:9091', 'evil.example', 'attacker.com.', '127.0.0.1.evil.com', '']) assert.ok(!hostAllowed(h, []), h);
    assert.ok(!hostAllowed(undefined, []));
    assert.ok(hostAllowed('nas.lan:9091', ['nas.lan']));
    assert.ok(hostAllowed('media.home.arpa', ['*.home.arpa']));
    assert.ok(!hostAllowed('home.arpa.evil', ['*.home.arpa']));
  });

  test('malformed Host headers are refused, never thrown on', () => {
    for (const h of ['a b', 'user@host', 'host/path', '[::1', ':9091', 'x'.repeat(300)]) assert.equal(hostNameOf(h), undefined, h);
    fc.assert(
      fc.property(fc.string(), (s) => {
        assert.equal(typeof hostAllowed(s, ['a.example']), 'boolean');
      }),
    );
  });

  test('loopback addresses', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '::ffff:127.0.0.1']) assert.ok(isLoopback(a), a);
    for (const a of ['0.0.0.0', '::', '192.168.0.1', '10.0.0.1']) assert.ok(!isLoopback(a), a);
  });
});

describe('basic authentication', () => {
  const header = (s: string): string => `Basic ${Buffer.from(s).toString('base64')}`;
  test('exactly the user and password', () => {
    assert.ok(basicAuthMatches(header('alice:s3cret'), 'alice', 's3cret'));
    assert.ok(!basicAuthMatches(header('alice:wrong'), 'alice', 's3cret'));
    assert.ok(!basicAuthMatches(header('bob:s3cret'), 'alice', 's3cret'));
    assert.ok(!basicAuthMatches(undefined, 'alice', 's3cret'));
    assert.ok(!basicAuthMatches('Bearer x', 'alice', 's3cret'));
    assert.ok(!basicAuthMatches(`Basic ${'A'.repeat(5000)}`, 'alice', 's3cret'));
  });
});

describe('download folders stay inside the allowed roots', () => {
  let root = '';
  let allowed = '';
  let outside = '';
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'tessera-roots-'));
    allowed = join(root, 'allowed');
    outside = join(root, 'outside');
    await mkdir(join(allowed, 'sub'), { recursive: true });
    await mkdir(outside, { recursive: true });
    await symlink(outside, join(allowed, 'link-out'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('inside passes, with folders that do not exist yet', async () => {
    assert.equal(await insideRoots(allowed, [allowed]), allowed);
    assert.equal(await insideRoots(join(allowed, 'sub'), [allowed]), join(allowed, 'sub'));
    assert.equal(await insideRoots(join(allowed, 'new', 'deeper'), [allowed]), join(allowed, 'new', 'deeper'));
  });

  test('.., symbolic links out, relative paths, NUL and siblings with a common prefix are refused', async () => {
    for (const p of [
      outside,
      join(allowed, '..', 'outside'),
      `${allowed}/../outside`,
      join(allowed, 'link-out'),
      join(allowed, 'link-out', 'x'),
      'allowed/sub',
      `${allowed}\0/x`,
      `${allowed}-sibling`,
      '/',
      '/etc',
    ]) {
      assert.equal(await insideRoots(p, [allowed]), undefined, JSON.stringify(p));
    }
  });
});

describe('settings.json', () => {
  test('known keys are checked and merged; flags win', () => {
    const file = parseSettings('{"rpc-port": 9999, "download-dir": "/srv/t", "dht": false, "rpc-host-whitelist": ["nas.lan"]}');
    const s = mergeSettings(file, { rpcPort: 1234 });
    assert.equal(s.rpcPort, 1234);
    assert.equal(s.downloadDir, '/srv/t');
    assert.equal(s.dht, false);
    assert.deepEqual(s.rpcHostWhitelist, ['nas.lan']);
  });

  test('unknown keys, wrong types and bad JSON are one clear error', () => {
    for (const text of ['{"rpc-prot": 1}', '{"rpc-port": "x"}', '{"rpc-port": 70000}', '[]', 'not json', '{"encryption": "maybe"}', '{"max-peers-per-ip": 0}', '{"constructor": 1}', '{"toString": "x"}', '{"__proto__": {}}']) {
      assert.throws(() => parseSettings(text), (err: unknown) => err instanceof DaemonError && err.code === 'bad-config', text);
    }
  });

  test('any JSON value: settings or a DaemonError, nothing else', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        try {
          parseSettings(text);
        } catch (err) {
          assert.ok(err instanceof DaemonError, String(err));
        }
      }),
      { numRuns: 500 },
    );
  });
});
