/**
 * A real aria2c leecher downloads a torrent made by `tessera create` from a `tessera seed`
 * peer it finds through the built-in tracker (HTTP), byte for byte.
 */
import { seedInteropSuite } from '../helpers/leechers-suite.js';

seedInteropSuite({
  title: 'tessera seed to an aria2c leecher over the built-in tracker',
  tracker: 'builtin',
  leecher: 'aria2',
});
