// node bench/lib/steady-rate.mjs LOG: the download rate between 10 % and 90 % of a
// `tessera download --json` run, in bytes per second, from its `progress` lines (each carries
// `time` and `downloaded` sampled together). Start-up, the first connection and the tail are
// left out, so what remains is the rate the limiter let through. Prints "nan" without samples.
import { readFileSync } from 'node:fs';

const events = readFileSync(process.argv[2], 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('{'))
  .map((l) => JSON.parse(l))
  .filter((e) => e.event === 'progress');
const total = events.at(-1)?.totalBytes ?? 0;
const from = events.find((e) => e.downloaded >= 0.1 * total);
const to = events.find((e) => e.downloaded >= 0.9 * total);
const seconds = from && to ? (Date.parse(to.time) - Date.parse(from.time)) / 1000 : 0;
console.log(seconds > 0 ? Math.round((to.downloaded - from.downloaded) / seconds) : 'nan');
