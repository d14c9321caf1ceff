/**
 * `--help`/`-h` of every command through the real binary: exit 0, every option of the
 * command's table shown with its default; `--version`; and a bad flag is one line naming it
 * with exit 2, before any work.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { COMMAND_SPECS } from '../../src/cli/specs.js';
import { OUT_DIR, runCli } from '../metainfo/helpers.js';

describe('help and conventions', () => {
  for (const spec of COMMAND_SPECS) {
    test(`tessera ${spec.name} --help and -h`, async () => {
      const long = await runCli([spec.name, '--help']);
      assert.equal(long.code, 0, long.stderr);
      assert.equal(long.stderr, '');
      assert.match(long.stdout, new RegExp(`^usage: tessera ${spec.name}\\b`));
      for (const [name, def] of Object.entries(spec.options)) {
        const line = long.stdout.split('\n').find((l) => l.includes(`--${name}`) && l.includes(def.help));
        assert.ok(line !== undefined, `--${name} listed:\n${long.stdout}`);
        assert.match(line, /\[default: [^\]]+\]$/, `--${name} shows its default`);
        if (def.default !== undefined) assert.ok(line.includes(`[default: ${def.default}]`), line);
      }
      const short = await runCli([spec.name, '-h']);
      assert.equal(short.code, 0);
      assert.equal(short.stdout, long.stdout);
    });
  }

  test('tessera --version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', new URL('../', `file://${OUT_DIR}`)), 'utf8')) as { version: string };
    const r = await runCli(['--version']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `tessera ${pkg.version}\n`);
  });

  test('tessera --help lists every command', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0);
    for (const spec of COMMAND_SPECS) assert.match(r.stdout, new RegExp(`^  ${spec.name}\\b`, 'm'));
  });

  test('a bad flag or value is one line naming it, exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['download', 'x.torrent', '--bogus'], /unknown option '--bogus'/],
      [['download', 'x.torrent', '--port', 'high'], /--port wants/],
      [['download', 'x.torrent', '--timeout', 'soon'], /--timeout wants/],
      [['seed', 'x.torrent', 'dir', '-p'], /-p needs a value/],
      [['tracker', '--interval', '0'], /--interval wants/],
      [['demo', '--seeders', 'many'], /--seeders wants/],
      [['peers', 'x.torrent', '--json=yes'], /--json takes no value/],
      [['info', 'x.torrent', '--peer', '127.0.0.1:1'], /--peer needs --fetch/],
      [['bogus'], /unknown command 'bogus'/],
      [['toString'], /unknown command 'toString'/],
      [['constructor'], /unknown command 'constructor'/],
    ];
    for (const [args, re] of cases) {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^tessera: [^\n]+\n$/, args.join(' '));
      assert.match(r.stderr, re, args.join(' '));
      assert.doesNotMatch(r.stderr, /ERR_PARSE_ARGS|TypeError|at /, 'no parser or stack text');
    }
  });
});
