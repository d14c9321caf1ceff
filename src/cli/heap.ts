/**
 * The heap bounds of the commands that move data (download, seed, stream, daemon, demo, create),
 * set from inside the process rather than on Node's command line.
 *
 * A download's garbage is a few small objects per block, nearly all dead by the next scavenge,
 * yet V8 grows the young generation to 16 MiB under it and lets promoted garbage reach 16 MiB
 * before collecting it: about 14 MiB more peak memory for one fast seeder, and 32 MiB over a
 * seed's 50 leechers, for no CPU saved (BENCHMARKS.md). So the young generation stops growing
 * (`--semi-space-growth-factor=1`) and the old one is collected once it is 20 % past what lived
 * (`--heap-growing-percent=20`). V8 reads both whenever it resizes, so they take effect on a heap
 * that is already set up.
 *
 * Any V8 flag changes V8's flag hash, and a built-in module compiled after that no longer matches
 * Node's code cache: it is compiled from source. Given on the command line, the two flags cost
 * every download about 25 ms of its start that way (BENCHMARKS.md). This module therefore loads
 * the built-ins the data-moving commands use (the static imports below, evaluated before any of
 * this module's code) before it sets a flag.
 *
 * Each isolate V8 sets up (a hashing or storage worker starting) puts the growth factor back to
 * 2, its least, and so, at times, does a worker's end: it is set again when the main thread hears
 * that a worker is online and that it exited. In between a scavenge may still double the young
 * generation once: the bound is V8's growth stopping, not a fixed size. In a download from one
 * fast seeder the young generation peaked at 4 MiB, as under the old `--max-semi-space-size=2`,
 * and one seeder's 50 leechers in turn, its workers stopping when idle and starting again, kept
 * its RSS flat (BENCHMARKS.md). Only the command line does this: a program embedding Tessera
 * chooses its own heap.
 */
import 'node:crypto';
import 'node:dgram';
import 'node:dns';
import 'node:dns/promises';
import 'node:fs/promises';
import 'node:http';
import 'node:net';
import 'node:os';
import 'node:perf_hooks';
import 'node:stream/promises';
import 'node:worker_threads';
import { subscribe } from 'node:diagnostics_channel';
import { setFlagsFromString } from 'node:v8';
import type { Worker } from 'node:worker_threads';

let bounded = false;

function keepYoungGenerationSmall(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}

/** Bounds the heap for the rest of the process (once; later calls do nothing). */
export function boundHeap(): void {
  if (bounded) return;
  bounded = true;
  setFlagsFromString('--heap-growing-percent=20');
  keepYoungGenerationSmall();
  subscribe('worker_threads', (message) => {
    const { worker } = message as { worker: Worker };
    worker.once('online', keepYoungGenerationSmall).once('exit', keepYoungGenerationSmall);
  });
}
