/**
 * Free loopback ports for test processes. A port is free when both a TCP listener and a UDP
 * socket can bind it on 127.0.0.1 (BitTorrent clients use the same number for both), and it
 * is never handed out twice by the same test process.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

const handedOut = new Set<number>();
const MAX_TRIES = 50;

function bindTcp(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(bound));
    });
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind({ port, address: '127.0.0.1', exclusive: true }, () => socket.close(() => resolve(true)));
  });
}

/** A port that is free for TCP and UDP on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < MAX_TRIES; i++) {
    const port = await bindTcp(0);
    if (port === 0 || handedOut.has(port)) continue;
    if (!(await udpFree(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free loopback port found in ${MAX_TRIES} tries`);
}
