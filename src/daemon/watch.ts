/**
 * The watch folder: `.torrent` files dropped into it are added, then renamed `<name>.added`
 * (or `<name>.invalid` when they cannot be used), as Transmission does. The folder is polled
 * (inotify misses files on network shares); a file is taken once its size and time stayed the
 * same over two scans, so a half-copied file is not read. Each scan takes a bounded number of
 * files, each bounded in size.
 */
import { readdir, readFile, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { MAX_TORRENT_FILE_BYTES } from '../metainfo/index.js';
import type { Clock, TimerHandle } from '../util/clock.js';

const SCAN_INTERVAL_MS = 2000;
const MAX_PER_SCAN = 100;

export class WatchFolder {
  private timer: TimerHandle | undefined;
  private scanning = false;
  /** Name → "size:mtime" seen at the last scan. */
  private readonly seen = new Map<string, string>();

  constructor(
    readonly dir: string,
    private readonly clock: Clock,
    private readonly onTorrent: (bytes: Uint8Array, name: string) => Promise<void>,
    private readonly log: (line: string) => void,
  ) {}

  async start(): Promise<void> {
    await this.scan();
    this.timer = this.clock.setInterval(() => void this.scan(), SCAN_INTERVAL_MS);
  }

  stop(): void {
    this.timer?.cancel();
  }

  /** One pass over the folder (exposed for tests on a fake clock). */
  async scan(): Promise<void> {
    if (this.scanning) return;
    this.scanning = true;
    try {
      let names: string[];
      try {
        names = (await readdir(this.dir)).filter((n) => n.toLowerCase().endsWith('.torrent')).slice(0, MAX_PER_SCAN);
      } catch (err) {
        this.log(`watch folder ${this.dir}: ${(err as Error).message}`);
        return;
      }
      for (const name of [...this.seen.keys()]) if (!names.includes(name)) this.seen.delete(name);
      for (const name of names) await this.consider(name);
    } finally {
      this.scanning = false;
    }
  }

  private async consider(name: string): Promise<void> {
    const file = path.join(this.dir, name);
    const info = await stat(file).catch(() => undefined);
    if (info === undefined || !info.isFile()) return;
    const mark = `${info.size}:${info.mtimeMs}`;
    if (this.seen.get(name) !== mark) {
      this.seen.set(name, mark);
      return;
    }
    this.seen.delete(name);
    let ok = false;
    try {
      if (info.size > MAX_TORRENT_FILE_BYTES) throw new Error('larger than a .torrent file may be');
      await this.onTorrent(await readFile(file), name);
      ok = true;
    } catch (err) {
      this.log(`watch folder: ${name} was not added: ${(err as Error).message}`);
    }
    await rename(file, `${file}.${ok ? 'added' : 'invalid'}`).catch((err: unknown) => this.log(`watch folder: cannot rename ${name}: ${(err as Error).message}`));
  }
}
