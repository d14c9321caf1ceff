/** `--select`, `--only`, `--exclude`: parsing, glob rules and the priorities they give. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { globToRegExp, parseFileSelection, parseIndexList, selectionPriorities } from '../../src/cli/file-select.js';
import { CliError, ExitCode } from '../../src/cli/context.js';
import type { TorrentFile } from '../../src/index.js';

const files: TorrentFile[] = ['t/a.mkv', 't/sub/b.mkv', 't/sub/c.srt', 't/sub/deep/d.txt', 't/e.txt'].map((path, i) => ({
  path, length: 10 * (i + 1), offset: 0, verifiedBytes: 0, priority: 'normal',
}));

function usage(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof CliError && e.exitCode === ExitCode.usage && re.test(e.message));
}

function picked(values: { select?: string; only?: string[]; exclude?: string[] }): number[] {
  const sel = parseFileSelection({ select: values.select, only: values.only ?? [], exclude: values.exclude ?? [] })!;
  return selectionPriorities(sel, files, 't', true).flatMap((p, i) => (p === 'normal' ? [i] : []));
}

describe('file selection options', () => {
  it('parses indices and ranges, and refuses anything else naming --select', () => {
    assert.deepEqual(parseIndexList('0,2-4'), [0, 2, 3, 4]);
    assert.deepEqual(parseIndexList(' 3 , 1-1,3'), [1, 3]);
    for (const bad of ['', 'a', '1-', '4-2', '1,,2', '-1', '0x1', '99999999']) usage(() => parseIndexList(bad), /^--select /);
    usage(() => parseIndexList('0-1000000'), /more than/);
  });

  it('no option, no selection', () => {
    assert.equal(parseFileSelection({ only: [], exclude: [] }), undefined);
  });

  it('globs: * and ? stay within a name, ** crosses folders; a pattern without / matches names', () => {
    assert.ok(globToRegExp('*.mkv', '--only').re.test('a.mkv'));
    assert.ok(!globToRegExp('*.mkv', '--only').re.test('sub/a.mkv'));
    assert.ok(globToRegExp('sub/**', '--only').re.test('sub/deep/d.txt'));
    assert.ok(globToRegExp('**/d.txt', '--only').re.test('d.txt'));
    assert.ok(globToRegExp('?.txt', '--only').re.test('e.txt'));
    assert.ok(!globToRegExp('a.(x)+', '--only').re.test('a.xx'), 'regex characters stand for themselves');
    usage(() => globToRegExp('', '--exclude'), /^--exclude /);
    assert.deepEqual(picked({ only: ['*.mkv'] }), [0, 1]);
    assert.deepEqual(picked({ only: ['sub/*'] }), [1, 2]);
    assert.deepEqual(picked({ only: ['sub/**'] }), [1, 2, 3]);
    assert.deepEqual(picked({ exclude: ['*.txt', '*.srt'] }), [0, 1]);
  });

  it('--select, then --only, then --exclude', () => {
    assert.deepEqual(picked({ select: '0,2-4' }), [0, 2, 3, 4]);
    assert.deepEqual(picked({ select: '0-3', only: ['*.mkv', '*.txt'], exclude: ['a.*'] }), [1, 3]);
  });

  it('an index past the last file or an empty result is a usage error', () => {
    usage(() => picked({ select: '5' }), /--select 5: the torrent has 5 file\(s\)/);
    usage(() => picked({ only: ['*.iso'] }), /leaves no file/);
  });

  it('a single-file torrent matches its name', () => {
    const one: TorrentFile[] = [{ path: 'x.iso', length: 1, offset: 0, verifiedBytes: 0, priority: 'normal' }];
    const sel = parseFileSelection({ only: ['*.iso'], exclude: [] })!;
    assert.deepEqual(selectionPriorities(sel, one, 'x.iso', false), ['normal']);
  });
});
