/**
 * A real Transmission leecher downloads a torrent made by `tessera create` from a `tessera
 * seed` peer, over the built-in tracker (HTTP), byte for byte. Transmission drops loopback peers from
 * tracker replies, so this passes only if the seed connects out to the leecher it is given.
 */
import { seedInteropSuite } from '../helpers/leechers-suite.js';

seedInteropSuite({
  title: 'tessera seed to a Transmission leecher over the built-in tracker',
  tracker: 'builtin',
  leecher: 'transmission',
});
