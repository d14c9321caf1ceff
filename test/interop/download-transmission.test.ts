/**
 * Tessera downloads from a real transmission-daemon seeder found through opentracker (HTTP).
 * Transmission drops 127.0.0.0/8 peers from tracker replies, so it never connects to Tessera:
 * this passes only if Tessera connects out to the seeder the tracker lists.
 */
import { startTransmissionSeeder } from '../helpers/seeders.js';
import { fullSeederSuite } from '../helpers/suites.js';

fullSeederSuite({
  title: 'download from a Transmission seeder over an HTTP tracker',
  label: 'transmission',
  tracker: 'http',
  startSeeder: startTransmissionSeeder,
});
