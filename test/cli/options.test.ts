/**
 * The declarative command-line parser: values, defaults, repeatable options, short forms,
 * and one-line usage errors that name the flag.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRate, parsePort } from '../../src/cli/args.js';
import { CliError } from '../../src/cli/context.js';
import { HelpRequested, helpText, parseCommandLine, type CommandSpec } from '../../src/cli/options.js';
import { COMMAND_SPECS } from '../../src/cli/specs.js';

const spec = {
  name: 'demo',
  args: '<source>',
  summary: 'A command for the tests.',
  positionals: { min: 1, max: 1 },
  options: {
    output: { type: 'string', short: 'o', value: 'DIR', default: '.', help: 'where' },
    peer: { type: 'string', multiple: true, value: 'HOST:PORT', help: 'who' },
    quiet: { type: 'boolean', short: 'q', help: 'hush' },
    ratio: { type: 'string', value: 'R', help: 'how much' },
  },
} as const satisfies CommandSpec;

function usageErrorOf(argv: string[]): string {
  try {
    parseCommandLine(argv, spec);
  } catch (err) {
    assert.ok(err instanceof CliError, String(err));
    assert.equal(err.exitCode, 2);
    assert.doesNotMatch(err.message, /\n/, 'one line');
    return err.message;
  }
  assert.fail(`${argv.join(' ')} parsed`);
}

test('defaults: booleans off, repeatables empty, strings their default or undefined', () => {
  const { values, positionals } = parseCommandLine(['x'], spec);
  assert.deepEqual(positionals, ['x']);
  assert.deepEqual(values, { output: '.', peer: [], quiet: false });
  assert.equal(values.ratio, undefined);
});

test('long, short, inline and repeated forms', () => {
  const { values, positionals } = parseCommandLine(['--peer', 'a:1', 'src', '-o', 'out', '--peer=b:2', '-q', '--ratio=2'], spec);
  assert.deepEqual(positionals, ['src']);
  assert.deepEqual(values, { output: 'out', peer: ['a:1', 'b:2'], quiet: true, ratio: '2' });
  assert.equal(parseCommandLine(['-oOUT', 'x'], spec).values.output, 'OUT');
  assert.equal(parseCommandLine(['-o=OUT', 'x'], spec).values.output, 'OUT');
  assert.deepEqual(parseCommandLine(['--', '-q'], spec).positionals, ['-q'], 'after -- everything is positional');
  assert.deepEqual(parseCommandLine(['-'], spec).positionals, ['-']);
  assert.equal(parseCommandLine(['x', '--ratio=-1'], spec).values.ratio, '-1', 'an inline value may start with a dash');
});

test('usage errors are one line that names the flag', () => {
  assert.match(usageErrorOf(['x', '--bogus']), /unknown option '--bogus'/);
  assert.match(usageErrorOf(['x', '-z']), /unknown option '-z'/);
  for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    assert.match(usageErrorOf(['x', `--${name}`]), new RegExp(`unknown option '--${name}'`), 'an object key is no option');
    assert.match(usageErrorOf(['x', `--${name}=1`]), new RegExp(`unknown option '--${name}'`));
  }
  assert.match(usageErrorOf(['x', '--output']), /--output needs a value \(DIR\)/);
  assert.match(usageErrorOf(['x', '-o', '--quiet']), /-o needs a value/);
  assert.match(usageErrorOf(['x', '--quiet=yes']), /--quiet takes no value/);
  assert.match(usageErrorOf([]), /missing <source>/);
  assert.match(usageErrorOf(['a', 'b']), /unexpected argument 'b'/);
});

test('-h and --help ask for the help text, whatever else is on the line', () => {
  for (const argv of [['--help'], ['x', '-h'], ['--bogus', '--help'].slice(1)]) {
    assert.throws(() => parseCommandLine(argv, spec), (err: unknown) => err instanceof HelpRequested && err.text === helpText(spec));
  }
  assert.deepEqual(parseCommandLine(['--', '--help'], spec).positionals, ['--help']);
});

test('the help text lists every option with its default', () => {
  const text = helpText(spec);
  assert.match(text, /^usage: tessera demo <source> \[options\]\n/);
  assert.match(text, /-o, --output DIR +where \[default: \.\]/);
  assert.match(text, /--peer HOST:PORT +who \(repeatable\) \[default: none\]/);
  assert.match(text, /-q, --quiet +hush \[default: off\]/);
  assert.match(text, /--ratio R +how much \[default: unset\]/);
  assert.match(text, /-h, --help/);
  assert.match(text, /-v, --verbose/);
});

test('every command table is well formed: unique short letters, placeholders for values', () => {
  for (const c of COMMAND_SPECS) {
    const shorts = Object.values(c.options).flatMap((o) => (o.short === undefined ? [] : [o.short]));
    assert.equal(new Set(shorts).size, shorts.length, `${c.name}: duplicate short option`);
    assert.ok(!shorts.includes('h') && !shorts.includes('v'), `${c.name}: -h and -v are global`);
    for (const [name, o] of Object.entries(c.options)) {
      assert.ok(o.help.length > 0, `${c.name} --${name} has help`);
      if (o.type === 'string') assert.ok(o.value !== undefined, `${c.name} --${name} names its value`);
      if (o.type === 'boolean') assert.equal(o.default, undefined, `${c.name} --${name}: a boolean has no string default`);
    }
  }
});

test('rates: K/M/G are powers of 1024, as aria2c', () => {
  assert.equal(parseRate('500k', '--max-down'), 500 * 1024);
  assert.equal(parseRate('20M', '--max-down'), 20 * 1024 * 1024);
  assert.equal(parseRate('1G', '--max-down'), 1024 ** 3);
  assert.equal(parseRate('1.5m', '--max-down'), 1.5 * 1024 * 1024);
  assert.equal(parseRate('65536', '--max-down'), 65536);
  assert.equal(parseRate('100KiB/s', '--max-down'), 100 * 1024);
  assert.equal(parseRate('0', '--max-down'), 0);
  for (const bad of ['', 'fast', '-1k', '10x', '1e9', '5 T']) {
    assert.throws(() => parseRate(bad, '--max-up'), (e: unknown) => e instanceof CliError && e.exitCode === 2 && e.message.startsWith('--max-up '), bad);
  }
});

test('ports', () => {
  assert.equal(parsePort('0', '--port'), 0);
  assert.equal(parsePort('65535', '--port'), 65535);
  for (const bad of ['65536', '-1', 'x', '1.5', '']) assert.throws(() => parsePort(bad, '--port'), /^CliError: --port wants/, bad);
});
