/**
 * A real aria2c leecher downloads a torrent made by `tessera create` from a `tessera seed`
 * peer it finds through a real opentracker (HTTP), byte for byte.
 */
import { seedInteropSuite } from '../helpers/leechers-suite.js';

seedInteropSuite({
  title: 'tessera seed to an aria2c leecher over a real opentracker',
  tracker: 'opentracker',
  leecher: 'aria2',
});
