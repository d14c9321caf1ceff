import fs from 'node:fs';
import { promisify } from 'node:util';
import { openSafe, toStorageError } from './safe-fs.js';

/**
 * Read-only descriptors for the main thread's `readBlock` (seeding). Reads run on libuv's
 * thread pool, so the event loop never blocks on the disk. Descriptors are cached (an LRU
 * that only closes descriptors no read is using) and a missing file is not cached, since
 * a worker may create it a moment later.
 */

const MAX_OPEN = 128;
const readP = promisify(fs.read);
const closeP = promisify(fs.close);

interface Entry {
  readonly fd: Promise<number | undefined>;
  users: number;
}

export class AsyncFiles {
  private readonly root: string;
  private readonly components: readonly (readonly string[])[];
  /** Insertion order is recency order. */
  private readonly entries = new Map<number, Entry>();

  constructor(root: string, components: readonly (readonly string[])[]) {
    this.root = root;
    this.components = components;
  }

  /** Fills `dst` from `position`; returns the bytes the file had there (0 when missing). */
  async read(fileIndex: number, dst: Uint8Array, position: number): Promise<number> {
    const entry = this.use(fileIndex);
    try {
      const fd = await entry.fd;
      if (fd === undefined) return 0;
      let done = 0;
      while (done < dst.length) {
        const { bytesRead } = await readP(fd, dst, done, dst.length - done, position + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return done;
    } catch (err) {
      throw toStorageError(err, this.components[fileIndex]!.join('/'));
    } finally {
      entry.users--;
      await this.trim();
    }
  }

  /** Closes every descriptor; call only when no read is in flight. */
  async closeAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => closeEntry(e)));
  }

  private use(fileIndex: number): Entry {
    let entry = this.entries.get(fileIndex);
    if (entry !== undefined) this.entries.delete(fileIndex);
    else {
      const fd = openSafe(this.root, this.components[fileIndex]!, 'read');
      entry = { fd, users: 0 };
      const created = entry;
      // Forget failures and missing files so the next read tries again.
      fd.then(
        (n) => n === undefined && this.forget(fileIndex, created),
        () => this.forget(fileIndex, created),
      );
    }
    entry.users++;
    this.entries.set(fileIndex, entry);
    return entry;
  }

  private forget(fileIndex: number, entry: Entry): void {
    if (this.entries.get(fileIndex) === entry) this.entries.delete(fileIndex);
  }

  private async trim(): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const [i, e] of this.entries) {
      if (this.entries.size <= MAX_OPEN) break;
      if (e.users > 0) continue;
      this.entries.delete(i);
      closing.push(closeEntry(e));
    }
    await Promise.all(closing);
  }
}

async function closeEntry(e: Entry): Promise<void> {
  const fd = await e.fd.catch(() => undefined);
  if (fd !== undefined) await closeP(fd);
}
