/**
 * The progress line: it never exceeds the terminal's width (so it never wraps), the name gives
 * way first, a seeder speaks of seeding, and plain output (pipes, TERM=dumb) has no control
 * sequences; a resize redraws at the new width.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { displayWidth, isLiveTerminal, progressLine, ProgressDisplay, shortenMiddle, type ProgressSnapshot } from '../../src/cli/progress.js';

const st: ProgressSnapshot = {
  state: 'downloading',
  bytesVerified: 300 * 1024 * 1024,
  totalBytes: 1024 * 1024 * 1024,
  uploaded: 50 * 1024 * 1024,
  downRate: 12.5 * 1024 * 1024,
  upRate: 1024 * 1024,
  peers: 12,
  knownPeers: 48,
};

const names = ['', 'x', 'Some.Very.Long.Release.Name.With.Many.Dots.And.Words.2026.1080p.mkv', '日本語のとても長いファイル名のテストです日本語のとても長いファイル名', 'emoji 🎬🎬🎬 名'];

test('the line fits every width, for downloads and seeds, whatever the name', () => {
  for (const mode of ['download', 'seed'] as const) {
    for (const name of names) {
      for (let width = 1; width <= 220; width++) {
        const line = progressLine(st, width, { name, mode });
        assert.ok(displayWidth(line) <= width, `${mode} width ${width} name ${name}: ${displayWidth(line)} columns: ${line}`);
        assert.doesNotMatch(line, /[\r\n\x1b]/);
      }
    }
  }
});

test('the name is shortened before any figure is dropped', () => {
  const name = names[2]!;
  const full = progressLine(st, 0, { name });
  const figures = full.slice(name.length + 2);
  const line = progressLine(st, displayWidth(figures) + 12, { name });
  assert.ok(line.endsWith(figures), line);
  assert.match(line, /^Some.+…\.mkv  /, 'start and end of the name kept');
  assert.match(progressLine(st, 200, { name }), /^Some\.Very.+\.mkv \[#+-+\]  29\.3%/, 'a wide terminal shows the whole name and a bar');
  assert.match(progressLine(st, 30, { name }), /^Some\.…p\.mkv {3}29\.3%  ETA /, 'then figures go, the least useful first');
  assert.equal(progressLine(st, 6, { name }), ' 29.3%', 'the percentage survives longest');
});

test('a seeder speaks of seeding, never of an ETA or downloading', () => {
  for (const width of [0, 40, 80, 200]) {
    const line = progressLine({ ...st, state: 'seeding', bytesVerified: st.totalBytes }, width, { name: 'n', mode: 'seed' });
    assert.doesNotMatch(line, /ETA|download|down /i, line);
    if (width === 0 || width >= 80) assert.match(line, /seeding  uploaded 50\.0 MiB  ratio 0\.05  up 1\.00 MiB\/s  peers 12\/48/);
  }
});

test('shortenMiddle keeps both ends and respects wide characters', () => {
  assert.equal(shortenMiddle('abcdefghij', 5), 'ab…ij');
  assert.equal(shortenMiddle('abc', 5), 'abc');
  assert.equal(shortenMiddle('日本語日本語', 5), '日…語');
  assert.ok(displayWidth(shortenMiddle('日本語日本語', 4)) <= 4);
});

class FakeTty extends EventEmitter {
  isTTY = true;
  columns = 100;
  chunks: string[] = [];
  write(s: string): boolean {
    this.chunks.push(s);
    return true;
  }
}

test('a live terminal redraws in place and refits on resize', () => {
  const out = new FakeTty();
  const display = new ProgressDisplay(out as unknown as NodeJS.WritableStream, () => st, { name: names[2]!, env: { TERM: 'xterm' } });
  display.start();
  display.draw();
  assert.equal(out.chunks.length, 1);
  assert.ok(displayWidth(out.chunks[0]!.slice(5)) <= 99);
  out.columns = 40;
  out.emit('resize');
  display.note('hello');
  display.stop();
  const redraws = out.chunks.slice(1).filter((c) => c.startsWith('\r\x1b[2K') && c.length > 5);
  assert.ok(redraws.length >= 3, 'resize, note and stop each redraw');
  for (const r of redraws) assert.ok(displayWidth(r.slice(5)) <= 39, r);
  assert.equal(out.chunks.at(-1), '\n', 'stop leaves the cursor on a fresh line');
  assert.equal(out.listenerCount('resize'), 0, 'stop removes the resize listener');
});

test('TERM=dumb and pipes get plain lines', () => {
  assert.equal(isLiveTerminal({ isTTY: true }, { TERM: 'dumb' }), false);
  assert.equal(isLiveTerminal({ isTTY: false }, { TERM: 'xterm' }), false);
  assert.equal(isLiveTerminal({}, {}), false);
  assert.equal(isLiveTerminal({ isTTY: true }, { TERM: 'xterm-256color' }), true);
  const out = new FakeTty();
  const display = new ProgressDisplay(out as unknown as NodeJS.WritableStream, () => st, { name: 'n', env: { TERM: 'dumb' }, plainEveryMs: 0 });
  display.note('a note');
  display.stop();
  assert.deepEqual(out.chunks, ['a note\n']);
  assert.equal(out.listenerCount('resize'), 0);
});
