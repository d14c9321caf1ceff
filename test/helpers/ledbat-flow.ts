/**
 * The two ends of test/utp/ledbat-netns.test.ts, each run in its own network namespace:
 *
 *   ledbat-flow.js recv PORT MS     accept TCP and uTP on PORT for MS milliseconds, then print
 *                                   one JSON line: cumulative bytes per flow every 100 ms
 *   ledbat-flow.js send tcp|utp HOST PORT
 *                                   send bytes to HOST:PORT as fast as the transport lets it,
 *                                   until killed
 *
 * The uTP ends are Tessera's own (src/utp), so the congestion control measured is ours.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { UtpEndpoint } from '../../src/utp/index.js';

const SAMPLE_MS = 100;
const CHUNK = Buffer.alloc(64 * 1024, 0x5a);

async function receive(port: number, durationMs: number): Promise<void> {
  const bytes = { tcp: 0, utp: 0 };
  const count = (kind: 'tcp' | 'utp', stream: Duplex): void => {
    stream.on('data', (chunk: Buffer) => void (bytes[kind] += chunk.length));
    stream.on('error', () => undefined);
  };
  const server = net.createServer((socket) => count('tcp', socket));
  await new Promise<void>((resolve) => server.listen(port, '0.0.0.0', resolve));
  const utp = await UtpEndpoint.open(port, '0.0.0.0', { onAccept: (stream) => count('utp', stream) });
  const start = Date.now();
  const samples: { t: number; tcp: number; utp: number }[] = [];
  console.log('listening');
  const timer = setInterval(() => samples.push({ t: Date.now() - start, ...bytes }), SAMPLE_MS);
  await new Promise((resolve) => setTimeout(resolve, durationMs));
  clearInterval(timer);
  console.log(JSON.stringify({ samples }));
  await utp.close();
  server.close();
  process.exit(0);
}

async function send(kind: 'tcp' | 'utp', host: string, port: number): Promise<void> {
  let stream: Duplex;
  if (kind === 'tcp') stream = net.connect(port, host);
  else {
    const utp = await UtpEndpoint.open(0, '0.0.0.0', { onAccept: (s) => s.destroy() });
    stream = utp.dial({ host, port }, () => undefined);
  }
  stream.on('error', (err) => {
    console.error(`${kind}: ${err.message}`);
    process.exit(1);
  });
  const pump = (): void => {
    while (stream.write(CHUNK));
  };
  stream.on('drain', pump);
  stream.once('connect', () => {
    console.log('connected');
    pump();
  });
}

const [role, a, b, c] = process.argv.slice(2);
if (role === 'recv') await receive(Number(a), Number(b));
else if (role === 'send' && (a === 'tcp' || a === 'utp')) await send(a, String(b), Number(c));
else {
  console.error('usage: ledbat-flow.js recv PORT MS | send tcp|utp HOST PORT');
  process.exit(2);
}
