/**
 * Tessera downloads from a real aria2c seeder found through opentracker (HTTP). aria2 drops a
 * peer that sends anything after its handshake before aria2's own handshake has gone out.
 */
import { startAria2Seeder } from '../helpers/seeders.js';
import { fullSeederSuite } from '../helpers/suites.js';

fullSeederSuite({
  title: 'download from an aria2c seeder over an HTTP tracker',
  label: 'aria2',
  tracker: 'http',
  startSeeder: startAria2Seeder,
});
