/**
 * A real opentracker for interop tests. Debian's build is whitelist-only, refuses to run as
 * root (it switches to `tracker.user`) and chroots into `tracker.rootdir`; its whitelist is
 * read by a thread that may run before or after the chroot, so rootdir is `/` and the
 * whitelist path is absolute. It listens on one port for both TCP (HTTP) and UDP, sharing
 * swarms between them. Ready means: every whitelisted hash accepts an announce.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { sleep, startProc } from './proc.js';

export interface Opentracker {
  readonly port: number;
  readonly httpUrl: string;
  readonly udpUrl: string;
  stop(): Promise<void>;
}

const READY_TRIES = 100;

function percentHex(hex: string): string {
  return hex.replace(/../g, '%$&');
}

/** One raw HTTP GET to the tracker, body as latin1 text; undefined on any error. */
function fetchText(url: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    // agent: false — opentracker closes each connection after its reply, so a pooled
    // keep-alive socket would be reused dead and the next request would hang up.
    const req = get(url, { timeout: 1000, agent: false }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

export async function startOpentracker(opts: { infoHashesHex: string[] }): Promise<Opentracker> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-opentracker-'));
  const port = await freePort();
  const whitelist = join(dir, 'whitelist.txt');
  await writeFile(whitelist, opts.infoHashesHex.map((h) => `${h.toLowerCase()}\n`).join(''));
  await writeFile(
    join(dir, 'opentracker.conf'),
    `listen.tcp 127.0.0.1:${port}\nlisten.udp 127.0.0.1:${port}\naccess.whitelist ${whitelist}\ntracker.rootdir /\ntracker.user _opentracker\n`,
  );
  // opentracker reads the whitelist after dropping root
  await chmod(dir, 0o755);
  await chmod(whitelist, 0o644);
  const proc = startProc('opentracker', 'opentracker', ['-f', join(dir, 'opentracker.conf')]);
  const base = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    await proc.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const hex of opts.infoHashesHex) {
      const q = `info_hash=${percentHex(hex)}&peer_id=-TSCHECK-00000000000&port=9&uploaded=0&downloaded=0&compact=1&left=1`;
      let ok = false;
      for (let i = 1; i <= READY_TRIES && !ok; i++) {
        if (!proc.running) throw new Error(`opentracker exited\n${proc.tail()}`);
        const body = await fetchText(`${base}/announce?${q}&event=started`);
        ok = body !== undefined && body.startsWith('d') && !body.includes('failure');
        if (!ok) {
          // now and then the whitelist is not loaded yet: SIGHUP reloads it
          if (i % 10 === 0) proc.signal('SIGHUP');
          await sleep(100);
        }
      }
      if (!ok) throw new Error(`opentracker rejects whitelisted hash ${hex}\n${proc.tail()}`);
      const left = await fetchText(`${base}/announce?${q}&event=stopped`);
      if (left === undefined || left.includes('failure')) throw new Error(`opentracker did not take the check peer's event=stopped\n${proc.tail()}`);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, httpUrl: `${base}/announce`, udpUrl: `udp://127.0.0.1:${port}/announce`, stop };
}
