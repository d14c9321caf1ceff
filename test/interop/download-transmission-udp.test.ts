/**
 * Tessera downloads from a real transmission-daemon seeder that announced to opentracker over
 * UDP (BEP 15); Tessera finds it over the same UDP tracker. The torrents carry only the udp://
 * URL, so both sides must speak BEP 15 to meet.
 */
import { startTransmissionSeeder } from '../helpers/seeders.js';
import { fullSeederSuite } from '../helpers/suites.js';

fullSeederSuite({
  title: 'download from a Transmission seeder over a UDP tracker',
  label: 'transmission-udp',
  tracker: 'udp',
  startSeeder: startTransmissionSeeder,
});
