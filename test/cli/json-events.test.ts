/**
 * The `--json` writer: one object per line with `event` and `time`, stranger text made safe,
 * non-finite numbers as null; and `--on-done`: the path reaches the command as `$1`, never as
 * shell text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { JsonLines, JSON_EVENT_NAMES } from '../../src/cli/json-events.js';
import { runOnDone } from '../../src/cli/on-done.js';

test('one JSON object per line, with event and time first', () => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const json = new JsonLines(out, () => Date.UTC(2026, 0, 2, 3, 4, 5, 678));
  json.emit({ event: 'started', infoHash: 'ab'.repeat(20), source: 'torrent', output: '/tmp/out' });
  json.emit({ event: 'metadata', infoHash: 'ab'.repeat(20), name: 'evil\x1b[31mname\nsecond', length: 10, pieceLength: 16384, pieceCount: 1, files: [{ index: 0, path: 'a\rb', length: 10 }] });
  json.emit({ event: 'progress', state: 'downloading', fraction: 0.5, verifiedBytes: 5, totalBytes: 10, downloaded: 5, webSeedBytes: 0, uploaded: 0, downRate: 1, upRate: 0, peers: 1, knownPeers: 2, eta: Infinity });
  json.emit({ event: 'peer-banned', peer: '127.0.0.1:1', reason: 'bad\x07data' });
  const lines = text.split('\n');
  assert.equal(lines.pop(), '', 'ends with a newline');
  assert.equal(lines.length, 4);
  const objs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(Object.keys(objs[0]!).slice(0, 2), ['event', 'time']);
  assert.equal(objs[0]!.time, '2026-01-02T03:04:05.678Z');
  assert.equal(objs[1]!.name, 'evil?[31mname?second');
  assert.deepEqual(objs[1]!.files, [{ index: 0, path: 'a?b', length: 10 }]);
  assert.equal(objs[2]!.eta, null);
  assert.equal(objs[3]!.reason, 'bad?data');
  assert.deepEqual(objs.map((o) => o.event), ['started', 'metadata', 'progress', 'peer-banned']);
  for (const o of objs) assert.ok((JSON_EVENT_NAMES as readonly string[]).includes(o.event as string));
});

test('--on-done gets the path as $1 and in the environment, never as shell text', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tessera-ondone-'));
  try {
    const log = path.join(dir, 'log');
    const hostile = path.join(dir, 'name; touch pwned; $(touch pwned2) `touch pwned3`');
    const code = await runOnDone(`printf '%s|%s|%s' "$TESSERA_NAME" "$TESSERA_INFO_HASH" > '${log}'; printf '|%s' `, { path: hostile, name: 'n', infoHash: 'ab' });
    assert.equal(code, 0);
    assert.equal(await readFile(log, 'utf8'), 'n|ab|');
    const code2 = await runOnDone(`printf '%s' > '${log}'`, { path: hostile, name: 'n', infoHash: 'ab' });
    assert.equal(code2, 0);
    assert.equal(await readFile(log, 'utf8'), hostile);
    for (const f of ['pwned', 'pwned2', 'pwned3']) await assert.rejects(readFile(path.join(process.cwd(), f)), /ENOENT/);
    assert.equal(await runOnDone('exit 3;', { path: dir, name: 'n', infoHash: 'ab' }), 3);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
