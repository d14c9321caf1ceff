/**
 * Tessera announces over opentracker's UDP port (BEP 15) and downloads from a real libtorrent
 * seeder. The torrents carry only the udp:// URL. (aria2 gets no peers from a UDP tracker when
 * its DHT is off, so libtorrent is the real client here.)
 */
import { startLibtorrentSeeder } from '../helpers/seeders.js';
import { fullSeederSuite } from '../helpers/suites.js';

fullSeederSuite({
  title: 'download from a libtorrent seeder over a UDP tracker',
  label: 'udp',
  tracker: 'udp',
  startSeeder: startLibtorrentSeeder,
});
