// bench/lib/udp-relay.mjs TARGET_PORT MIN_MS MAX_MS LOSS SEED: the test tree's lossy UDP relay
// (test/helpers/udp-relay.ts, compiled into dist/) in front of 127.0.0.1:TARGET_PORT as a
// process of its own. Prints "relay on port N" once listening; on SIGTERM prints what it
// forwarded, dropped and reordered, and exits.
import { startUdpRelay } from '../../dist/test/helpers/udp-relay.js';

const [target, minDelayMs, maxDelayMs, loss, seed] = process.argv.slice(2).map(Number);
const relay = await startUdpRelay({ host: '127.0.0.1', port: target }, { minDelayMs, maxDelayMs, loss, seed });
console.log(`relay on port ${relay.port}`);
process.on('SIGTERM', () => {
  const s = relay.stats;
  console.log(`relay: ${s.forwarded} forwarded, ${s.dropped} dropped, ${s.reordered} reordered, ${s.overflow} overflow, ${s.bytesFromTarget} bytes from the seeder`);
  void relay.close().then(() => process.exit(0));
});
