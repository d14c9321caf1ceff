/**
 * `tessera stream` against a real, throttled libtorrent seeder: range reads at the start, the
 * middle and the last byte of a file return the right bytes before the download has finished,
 * and ffprobe reads the duration of a real media file (made with ffmpeg) over the stream URL.
 * Ctrl-C then exits 130. `--file N` then fetches and serves one file only.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeRandomFile } from '../helpers/data.js';
import { freePort } from '../helpers/ports.js';
import { run, startProc, stopAll, type Proc } from '../helpers/proc.js';
import { startLibtorrentSeeder } from '../helpers/seeders.js';
import { cliPath } from '../helpers/tessera.js';
import { makeTorrent, type TorrentMeta } from '../helpers/torrents.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** The seeder's upload cap: the whole torrent takes tens of seconds, the reads need a few pieces. */
const SEED_RATE = 256 * KiB;

function rangeGet(url: string, range: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { Range: range } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(120_000, () => req.destroy(new Error(`no answer for ${range} in 120 s`)));
  });
}

describe('tessera stream', { timeout: 600_000 }, () => {
  let root = '';
  let meta: TorrentMeta;
  let big: Buffer;
  let stream: Proc;
  let urls: string[] = [];
  let seederPort = 0;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'tessera-stream-'));
    const content = join(root, 'data', 'show');
    await mkdir(content, { recursive: true });
    await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=duration=12:size=160x120:rate=15', '-f', 'lavfi', '-i', 'sine=duration=12',
      '-c:v', 'mpeg4', '-q:v', '8', '-c:a', 'aac', '-shortest', join(content, 'clip.mp4')], 120_000);
    await writeRandomFile(join(content, 'data.bin'), 12 * MiB + 777, 'stream');
    big = await readFile(join(content, 'data.bin'));
    meta = await makeTorrent({ source: content, out: join(root, 'show.torrent'), pieceLengthLog2: 16 });
    const seeder = await startLibtorrentSeeder({ torrents: [meta], dataDir: join(root, 'data'), workDir: join(root, 'seeder'), uploadLimit: SEED_RATE });
    seederPort = seeder.port;
    stream = startProc('tessera-stream', process.execPath, [
      cliPath, 'stream', meta.torrentPath, '-o', join(root, 'out'), '--peer', `127.0.0.1:${seeder.port}`,
      '--no-dht', '--port', String(await freePort()), '--http-port', '0',
    ], { graceMs: 10_000 });
    for (let i = 0; i < 2; i++) await stream.waitForLine(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/${i}/`), 120_000);
    urls = stream.stdout.split('\n').filter((l) => l.startsWith('http://'));
  });

  after(async () => {
    await stopAll();
    await rm(root, { recursive: true, force: true });
  });

  test('prints one URL per file on standard output', () => {
    assert.equal(urls.length, 2, stream.stdout);
    assert.ok(urls.some((u) => u.endsWith('/clip.mp4')) && urls.some((u) => u.endsWith('/data.bin')), urls.join('\n'));
  });

  test('range reads at the start, the middle and the last byte, before the download finishes', async () => {
    const url = urls.find((u) => u.endsWith('/data.bin'))!;
    const last = big.length - 1;
    const mid = Math.floor(big.length / 2) + 12345;
    for (const [range, start, end] of [[`bytes=${last}-${last}`, last, last], [`bytes=${mid}-${mid + 99_999}`, mid, mid + 99_999], ['bytes=0-65535', 0, 65535]] as const) {
      const r = await rangeGet(url, range);
      assert.equal(r.status, 206, range);
      assert.equal(r.headers['content-range'], `bytes ${start}-${end}/${big.length}`);
      assert.equal(r.headers['accept-ranges'], 'bytes');
      assert.equal(Number(r.headers['content-length']), end - start + 1);
      assert.ok(r.body.equals(big.subarray(start, end + 1)), `${range}: the right bytes`);
    }
    assert.doesNotMatch(stream.stderr, /download complete/, 'the reads were served before the download finished');
    assert.ok(meta.totalLength > 10 * MiB && SEED_RATE * 20 < meta.totalLength, 'the seeder needs well over 20 s for the whole torrent');
  });

  test('ffprobe reads the duration of the media file over its URL', async () => {
    const url = urls.find((u) => u.endsWith('/clip.mp4'))!;
    const probe = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', url], 300_000);
    const duration = Number(probe.stdout.trim());
    assert.ok(Math.abs(duration - 12) < 0.5, `duration ${probe.stdout}`);
    const head = await rangeGet(url, 'bytes=0-3');
    assert.equal(head.headers['content-type'], 'video/mp4');
  });

  test('Ctrl-C exits 130', async () => {
    stream.signal('SIGINT');
    const exit = await stream.waitForExit(15_000);
    assert.equal(exit.code, 130, stream.tail());
  });

  test('--file N downloads and serves that file only; the other is never created', async () => {
    const out = join(root, 'out-one');
    const one = startProc('tessera-stream-one', process.execPath, [
      cliPath, 'stream', meta.torrentPath, '-o', out, '--peer', `127.0.0.1:${seederPort}`, '--file', '0',
      '--no-dht', '--port', String(await freePort()), '--http-port', '0',
    ], { graceMs: 10_000 });
    await one.waitForLine(/^http:\/\/127\.0\.0\.1:\d+\/0\/clip\.mp4$/, 120_000);
    await one.waitForLine(/download complete/, 120_000);
    const printed = one.stdout.split('\n').filter((l) => l.startsWith('http://'));
    assert.equal(printed.length, 1, one.stdout);
    const clip = await readFile(join(root, 'data', 'show', 'clip.mp4'));
    assert.ok((await readFile(join(out, 'show', 'clip.mp4'))).equals(clip), 'the chosen file is byte-identical');
    await assert.rejects(stat(join(out, 'show', 'data.bin')), { code: 'ENOENT' }, 'the other file was never created');
    const other = await rangeGet(printed[0]!.replace(/\/0\/clip\.mp4$/, '/1/data.bin'), 'bytes=0-0');
    assert.equal(other.status, 404);
    const whole = await rangeGet(printed[0]!, 'bytes=0-');
    assert.ok(whole.body.equals(clip));
    one.signal('SIGINT');
    assert.equal((await one.waitForExit(15_000)).code, 130, one.tail());
  });
});
