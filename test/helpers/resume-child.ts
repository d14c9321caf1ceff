/**
 * A real download in its own process, for the crash test: one torrent from one peer, with
 * resume records in the given folder written every `intervalMs` (shorter than the CLI's
 * 3 s, so that runs killed after a second or two have written some). Prints `started`
 * after the check of existing data and `complete` when every piece is verified.
 *
 *   node resume-child.js <file.torrent> <out-dir> <resume-dir> <host:port> <interval-ms>
 */
import { loadTorrentFile } from '../../src/metainfo/index.js';
import { Session } from '../../src/session/index.js';

const [torrentPath, outputDir, resumeDir, peer, interval] = process.argv.slice(2);
if (torrentPath === undefined || outputDir === undefined || resumeDir === undefined || peer === undefined || interval === undefined) {
  process.stderr.write('usage: resume-child <file.torrent> <out-dir> <resume-dir> <host:port> <interval-ms>\n');
  process.exit(2);
}
const [host, port] = peer.split(':') as [string, string];
const meta = await loadTorrentFile(torrentPath);
const session = new Session({ port: 0, host: '127.0.0.1', dht: false, resumeDir, resumeIntervalMs: Number(interval) });
const torrent = await session.add(meta, { path: outputDir, peers: [{ host, port: Number(port) }], trackers: false });
torrent.on('warning', (w) => {
  if (w.code === 'resume') process.stderr.write(`resume: ${w.message}\n`);
});
await torrent.whenReady();
process.stdout.write('started\n');
await torrent.whenDone();
await session.close();
process.stdout.write('complete\n');
