/**
 * Torrents made by libtorrent's create_torrent (python3-libtorrent), for the BEP 52 tests: v2
 * only, or its default, a v1+v2 hybrid.
 */
import { run } from './proc.js';

const CREATE = `
import sys, libtorrent as lt
parent, name, flag, out, piece_length = sys.argv[1:6]
fs = lt.file_storage()
lt.add_files(fs, parent + '/' + name)
ct = lt.create_torrent(fs, int(piece_length), flags=(lt.create_torrent.v2_only if flag == 'v2' else 0))
for url in sys.argv[6:]:
    ct.add_tracker(url)
lt.set_piece_hashes(ct, parent)
open(out, 'wb').write(lt.bencode(ct.generate()))
`;

export interface LtCreateOptions {
  /** The folder holding `name`. */
  readonly parent: string;
  readonly name: string;
  readonly version: 'v2' | 'hybrid';
  readonly out: string;
  /** Default 64 KiB. */
  readonly pieceLength?: number;
  readonly trackers?: readonly string[];
}

export async function libtorrentCreate(o: LtCreateOptions): Promise<void> {
  const args = ['-c', CREATE, o.parent, o.name, o.version, o.out, String(o.pieceLength ?? 65536), ...(o.trackers ?? [])];
  await run('/usr/bin/python3', args, 60_000);
}
