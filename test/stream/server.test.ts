/**
 * The stream server over an in-memory source whose bytes "arrive" later: Range, Content-Length,
 * Content-Type and Accept-Ranges; a read waits for missing bytes instead of failing; 416 past
 * the end; HEAD; foreign Host headers refused; a skipped file not served.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fc from 'fast-check';
import { contentType, parseRange, StreamServer, type StreamSource } from '../../src/stream/index.js';

const video = Buffer.alloc(1_000_003);
for (let i = 0; i < video.length; i++) video[i] = (i * 7 + (i >> 8)) & 0xff;
const notes = Buffer.from('hello, stream\n');

/** Bytes become readable up to `available`; reads past it wait until it grows. */
class SlowSource implements StreamSource {
  available = 0;
  private waiters: (() => void)[] = [];
  readonly reads: { index: number; offset: number }[] = [];

  files() {
    return [
      { path: 'dir/movie.mp4', length: video.length },
      { path: 'dir/notes.txt', length: notes.length },
      { path: 'dir/empty.bin', length: 0 },
      { path: 'dir/extra.iso', length: 10, skipped: true },
    ];
  }

  async read(index: number, offset: number, length: number, signal: AbortSignal): Promise<Uint8Array> {
    this.reads.push({ index, offset });
    const data = [video, notes, Buffer.alloc(0)][index]!;
    if (index === 0) {
      while (offset + length > this.available) {
        if (signal.aborted) throw new Error('aborted');
        await new Promise<void>((resolve) => this.waiters.push(resolve));
      }
    }
    return data.subarray(offset, offset + length);
  }

  grow(to: number): void {
    this.available = to;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

let source: SlowSource;
let server: StreamServer;
let urls: string[];

before(async () => {
  source = new SlowSource();
  server = await StreamServer.start(source, { chunkBytes: 64 * 1024 });
  urls = server.urls();
});
after(async () => {
  await server.close();
});

test('one URL per file on 127.0.0.1, named after the file; a skipped file has none and is 404', async () => {
  assert.equal(urls.length, 3);
  assert.match(urls[0]!, /^http:\/\/127\.0\.0\.1:\d+\/0\/movie\.mp4$/);
  assert.match(urls[1]!, /\/1\/notes\.txt$/);
  assert.equal((await get(urls[0]!.replace(/\/0\/movie\.mp4$/, '/3/extra.iso'))).status, 404);
  assert.ok(!source.reads.some((r) => r.index === 3), 'never read');
});

test('a range read waits for its bytes, then returns exactly them', async () => {
  source.grow(0);
  const pending = get(urls[0]!, { Range: 'bytes=500000-500099' });
  let settled = false;
  void pending.then(() => (settled = true));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(settled, false, 'the read waits for the data');
  source.grow(video.length);
  const r = await pending;
  assert.equal(r.status, 206);
  assert.equal(r.headers['content-range'], `bytes 500000-500099/${video.length}`);
  assert.equal(r.headers['content-length'], '100');
  assert.equal(r.headers['accept-ranges'], 'bytes');
  assert.equal(r.headers['content-type'], 'video/mp4');
  assert.deepEqual(r.body, video.subarray(500000, 500100));
});

test('start, middle, last byte, open-ended and suffix ranges', async () => {
  source.grow(video.length);
  const last = video.length - 1;
  const cases: [string, number, number][] = [
    ['bytes=0-0', 0, 0],
    ['bytes=0-', 0, last],
    [`bytes=${last}-${last}`, last, last],
    [`bytes=${last}-`, last, last],
    ['bytes=-10', last - 9, last],
    ['bytes=123456-999999999', 123456, last],
  ];
  for (const [range, start, end] of cases) {
    const r = await get(urls[0]!, { Range: range });
    assert.equal(r.status, 206, range);
    assert.equal(r.headers['content-range'], `bytes ${start}-${end}/${video.length}`, range);
    assert.equal(Number(r.headers['content-length']), end - start + 1, range);
    assert.deepEqual(r.body, video.subarray(start, end + 1), range);
  }
});

test('no Range: the whole file with 200; HEAD: the headers only', async () => {
  source.grow(video.length);
  const whole = await get(urls[1]!);
  assert.equal(whole.status, 200);
  assert.equal(whole.headers['content-type'], 'text/plain; charset=utf-8');
  assert.deepEqual(whole.body, notes);
  const head = await get(urls[0]!, {}, 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], String(video.length));
  assert.equal(head.body.length, 0);
  const empty = await get(urls[2]!);
  assert.equal(empty.status, 200);
  assert.equal(empty.headers['content-length'], '0');
});

test('past the end is 416 with the length; bad requests are refused', async () => {
  const r = await get(urls[1]!, { Range: `bytes=${notes.length}-` });
  assert.equal(r.status, 416);
  assert.equal(r.headers['content-range'], `bytes */${notes.length}`);
  assert.equal((await get(urls[1]!.replace('/1/', '/9/'))).status, 404);
  assert.equal((await get(urls[1]!, {}, 'POST')).status, 405);
  assert.equal((await get(urls[1]!, { Host: 'evil.example:80' })).status, 403, 'DNS rebinding');
  const index = await get(urls[1]!.replace(/\/1\/notes\.txt$/, '/'));
  assert.equal(index.body.toString(), `${urls.join('\n')}\n`);
});

test('a client that goes away stops the reads', async () => {
  source.grow(64 * 1024);
  const before = source.reads.length;
  await new Promise<void>((resolve) => {
    const req = http.get(urls[0]!, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', () => undefined);
  });
  await new Promise((r) => setTimeout(r, 100));
  source.grow(video.length);
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(source.reads.length - before <= 3, `reads after the client left: ${source.reads.length - before}`);
});

test('parseRange against a model', () => {
  fc.assert(
    fc.property(fc.nat(10_000), fc.option(fc.nat(20_000), { nil: undefined }), fc.option(fc.nat(20_000), { nil: undefined }), (len, a, b) => {
      const header = `bytes=${a ?? ''}-${b ?? ''}`;
      const r = parseRange(header, len);
      if (r.kind === 'range') {
        assert.ok(r.start >= 0 && r.start <= r.end && r.end < len, header);
        if (a !== undefined) assert.equal(r.start, a);
        else assert.equal(r.end - r.start + 1, Math.min(b!, len));
      }
      if (a !== undefined && a >= len) assert.equal(r.kind, 'unsatisfiable', header);
    }),
  );
  assert.deepEqual(parseRange('bytes=0-1,5-6', 10), { kind: 'whole' }, 'several ranges: the whole file');
  assert.deepEqual(parseRange('items=0-1', 10), { kind: 'whole' });
});

test('content types; active content is served as bytes', () => {
  assert.equal(contentType('a.MKV'), 'video/x-matroska');
  assert.equal(contentType('a.webm'), 'video/webm');
  assert.equal(contentType('index.html'), 'application/octet-stream');
  assert.equal(contentType('x.svg'), 'application/octet-stream');
  assert.equal(contentType('noext'), 'application/octet-stream');
});
