/**
 * Deterministic test content: the same seed gives the same bytes and file sizes on every
 * machine. Bytes come from AES-128-CTR over zeros (incompressible, fast); sizes from a small
 * seeded PRNG. `compareTrees` checks two files or folders byte for byte.
 */
import { AssertionError } from 'node:assert';
import { createCipheriv, createHash, type Cipher } from 'node:crypto';
import { mkdir, open, readdir, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { seeded } from './random.js';

const CHUNK = 1 << 20;
const KiB = 1024;
const MiB = 1024 * KiB;

/** A byte stream for `seed`: AES-128-CTR with a key derived from the seed, over zeros. */
class ByteStream {
  private readonly cipher: Cipher;
  private readonly zeros = Buffer.alloc(CHUNK);

  constructor(seed: string) {
    const key = createHash('sha256').update(`tessera-test-data:${seed}`).digest();
    this.cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  }

  next(n: number): Buffer {
    return this.cipher.update(n === CHUNK ? this.zeros : this.zeros.subarray(0, n));
  }
}

async function writeFromStream(path: string, size: number, bytes: ByteStream): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const fh = await open(path, 'w');
  try {
    for (let done = 0; done < size; ) {
      const n = Math.min(CHUNK, size - done);
      await fh.write(bytes.next(n), 0, n, done);
      done += n;
    }
  } finally {
    await fh.close();
  }
}

/** Write one file of `size` pseudo-random bytes determined by `seed`. */
export async function writeRandomFile(path: string, size: number, seed = 'single'): Promise<void> {
  await writeFromStream(path, size, new ByteStream(seed));
}

export interface TreeFile {
  readonly path: string;
  readonly size: number;
}

export interface TreeOptions {
  readonly files?: number;
  readonly seed?: number;
}

/**
 * Sizes and paths of a multi-file tree: several empty files, many files smaller than any
 * usual piece, medium files, and four large files with odd sizes so that pieces span several
 * files; nested folders, one with a space in its name.
 */
export function treeLayout(options: TreeOptions = {}): TreeFile[] {
  const count = options.files ?? 120;
  if (count < 12) throw new Error('treeLayout needs at least 12 files');
  const random = seeded(options.seed ?? 1234);
  const between = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  const folders = ['', 'a', 'b/c', 'b/d/e', 'f g', 'b/d'];
  const sizes: number[] = [0, 0, 0, 0, 0];
  sizes.push(3 * MiB + 777, 4 * MiB + 12345, 2 * MiB + 1, 5 * MiB - 3);
  while (sizes.length < count) {
    const k = random();
    sizes.push(k < 0.6 ? between(1, 16 * KiB) : k < 0.95 ? between(16 * KiB, 300 * KiB) : between(300 * KiB, 1 * MiB));
  }
  for (let i = sizes.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [sizes[i], sizes[j]] = [sizes[j] as number, sizes[i] as number];
  }
  return sizes.map((size, i) => ({ path: join(folders[i % folders.length] as string, `file-${String(i).padStart(3, '0')}.dat`), size }));
}

/** Write the tree of `treeLayout(options)` under `root`; returns its files. */
export async function writeRandomTree(root: string, options: TreeOptions = {}): Promise<TreeFile[]> {
  const files = treeLayout(options);
  const bytes = new ByteStream(`tree:${options.seed ?? 1234}`);
  for (const f of files) await writeFromStream(join(root, f.path), f.size, bytes);
  return files;
}

async function listFiles(root: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const info = await stat(root);
  if (info.isFile()) {
    out.set('', info.size);
    return out;
  }
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) stack.push(full);
      else out.set(relative(root, full), (await stat(full)).size);
    }
  }
  return out;
}

/** Offset of the first differing byte of two equal-sized files, or -1. */
async function firstDifference(a: string, b: string, size: number): Promise<number> {
  const [fa, fb] = await Promise.all([open(a, 'r'), open(b, 'r')]);
  try {
    const ba = Buffer.alloc(CHUNK);
    const bb = Buffer.alloc(CHUNK);
    for (let pos = 0; pos < size; pos += CHUNK) {
      const n = Math.min(CHUNK, size - pos);
      await Promise.all([fa.read(ba, 0, n, pos), fb.read(bb, 0, n, pos)]);
      if (!ba.subarray(0, n).equals(bb.subarray(0, n))) {
        for (let i = 0; i < n; i++) if (ba[i] !== bb[i]) return pos + i;
      }
    }
    return -1;
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}

/**
 * Assert that `actual` (file or folder) holds exactly the files of `expected`, byte for byte.
 * The error lists missing and extra files, size mismatches and the first differing offsets.
 */
export async function compareTrees(expected: string, actual: string): Promise<void> {
  let actualFiles: Map<string, number>;
  try {
    actualFiles = await listFiles(actual);
  } catch (err) {
    throw new AssertionError({ message: `${actual} is missing: ${(err as Error).message}` });
  }
  const expectedFiles = await listFiles(expected);
  const problems: string[] = [];
  for (const [path, size] of expectedFiles) {
    const got = actualFiles.get(path);
    if (got === undefined) problems.push(`missing: ${path || '(the file)'}`);
    else if (got !== size) problems.push(`size of ${path || '(the file)'}: expected ${size}, got ${got}`);
    else {
      const at = await firstDifference(join(expected, path), join(actual, path), size);
      if (at >= 0) problems.push(`content of ${path || '(the file)'} differs first at byte ${at}`);
    }
  }
  for (const path of actualFiles.keys()) if (!expectedFiles.has(path)) problems.push(`unexpected: ${path}`);
  if (problems.length > 0) {
    const shown = problems.slice(0, 20).join('\n  ');
    const more = problems.length > 20 ? `\n  … and ${problems.length - 20} more` : '';
    throw new AssertionError({ message: `${actual} differs from ${expected} (${problems.length} problems):\n  ${shown}${more}` });
  }
}
