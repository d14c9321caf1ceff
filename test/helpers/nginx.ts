/**
 * Debian's nginx as a web seed (BEP 19) for the interop tests: started on 127.0.0.1 with a
 * config written to a temp folder (daemon off, pid, logs and temp paths inside it), serving a
 * folder, with extra `location` blocks for the failure cases. The access log proves which
 * files were fetched; stopped by PID.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { run, sleep, startProc, type Proc } from './proc.js';

export interface Nginx {
  readonly port: number;
  /** `http://127.0.0.1:<port>` (or https). */
  readonly base: string;
  readonly proc: Proc;
  /** Request lines of the access log: `GET <path as sent> <status> "<range>" <bytes>`. */
  requests(): Promise<string[]>;
  stop(): Promise<void>;
}

export interface NginxOptions {
  /** The folder served at `/`. */
  readonly root: string;
  /** Scratch folder for the config, pid, logs and temp files. */
  readonly workDir: string;
  /** Raw `location` blocks (or other server directives) added to the server. */
  readonly extra?: string;
  /** Serve HTTPS with this certificate and key (PEM files). */
  readonly tls?: { readonly cert: string; readonly key: string };
}

export async function startNginx(options: NginxOptions): Promise<Nginx> {
  const dir = options.workDir;
  await mkdir(join(dir, 'tmp'), { recursive: true });
  const port = await freePort();
  const log = join(dir, 'access.log');
  const tls = options.tls;
  const conf = `
daemon off;
worker_processes 1;
user root root;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 256; }
http {
  log_format ws '$request_method $request_uri $status "$http_range" $bytes_sent';
  access_log ${log} ws;
  default_type application/octet-stream;
  client_body_temp_path ${join(dir, 'tmp')};
  proxy_temp_path ${join(dir, 'tmp')};
  fastcgi_temp_path ${join(dir, 'tmp')};
  uwsgi_temp_path ${join(dir, 'tmp')};
  scgi_temp_path ${join(dir, 'tmp')};
  sendfile on;
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:${port}${tls === undefined ? '' : ' ssl'};
    ${tls === undefined ? '' : `ssl_certificate ${tls.cert};\n    ssl_certificate_key ${tls.key};`}
    root ${options.root};
    ${options.extra ?? ''}
  }
}
`;
  const confPath = join(dir, 'nginx.conf');
  await writeFile(confPath, conf);
  await run('nginx', ['-t', '-c', confPath, '-p', dir], 20_000);
  const proc = startProc('nginx', 'nginx', ['-c', confPath, '-p', dir], { graceMs: 2000 });
  const base = `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`;
  // Ready once it accepts connections (bounded).
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (i >= 100) {
      await proc.stop();
      throw new Error(`nginx did not listen on ${port}: ${await readFile(join(dir, 'error.log'), 'utf8').catch(() => '')}`);
    }
    await sleep(50);
  }
  return {
    port,
    base,
    proc,
    requests: async () => (await readFile(log, 'utf8').catch(() => '')).split('\n').filter((l) => l !== ''),
    stop: async () => {
      await proc.stop();
    },
  };
}
