/**
 * A TCP relay on 127.0.0.1 in front of a real client: every connection accepted is piped to
 * the target, and counted, so a test can tell how many connections a peer made to that client.
 */
import net from 'node:net';

export interface Relay {
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections open now. */
  readonly open: number;
  close(): Promise<void>;
}

export async function startRelay(target: { host: string; port: number }): Promise<Relay> {
  let accepted = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    accepted++;
    const outbound = net.connect(target);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        sockets.delete(s);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('relay: no address');
  return {
    port: address.port,
    get accepted() {
      return accepted;
    },
    get open() {
      return Math.floor(sockets.size / 2);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
