/**
 * A magnet's metadata phase (BEP 9) against scripted in-process peers: honest, lying,
 * rejecting, silent, and announcing a size above the limit or different from the others'.
 * Each runs through `Session.add` of a bare magnet link, so what is tested is what embedders
 * get: the `metadata` event, `whenDone()` rejections, banned peers as warnings. The scripted
 * peers speak plaintext, so the sessions here do not try MSE first (each try is a connection).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encode } from '../../src/bencode/index.js';
import { createTorrent, MetainfoError, parseTorrent, type Metainfo } from '../../src/metainfo/index.js';
import type { MagnetLink, PeerAddress } from '../../src/metainfo/types.js';
import { SessionError } from '../../src/session/errors.js';
import { Session, type AddOptions } from '../../src/session/session.js';
import { buildTorrentFile, metainfoFromInfoBytes } from '../../src/session/torrent-file.js';
import { toHex } from '../../src/util/bytes.js';
import { TesseraError } from '../../src/util/errors.js';
import {
  decodeExtendedHandshake,
  decodeUtMetadata,
  encodeUtMetadata,
  makeReserved,
  METADATA_PIECE_LENGTH,
  metadataPieceCount,
  type IncomingMessage,
} from '../../src/wire/index.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { WirePeer } from './wire-peer.js';

type Behaviour = 'honest' | 'liar' | 'reject' | 'silent';

/** An info dict of 2,000 pieces: 40 KB of metadata, so three ut_metadata pieces. */
const PIECES = 2000;
const info = encode({
  length: PIECES * 16384,
  name: 'metadata-test.bin',
  'piece length': 16384,
  pieces: Buffer.alloc(PIECES * 20, 7),
});
const infoHash = createHash('sha1').update(info).digest();
const METADATA_ID = 3;

interface FakeServer {
  readonly address: PeerAddress;
  /** ut_metadata pieces this peer was asked for, in order. */
  readonly requests: number[];
  /** Connections that the fetcher closed (or that ended). */
  closedConnections: number;
  /** Connections accepted, and handshakes completed. */
  connections: number;
  handshakes: number;
  close(): Promise<void>;
}

const servers: FakeServer[] = [];

/** A peer that offers ut_metadata with `announcedSize` and answers requests as `behaviour` says. */
async function fakePeer(behaviour: Behaviour, announcedSize = info.length, served: Buffer = info): Promise<FakeServer> {
  const requests: number[] = [];
  const state = { closedConnections: 0, connections: 0, handshakes: 0 };
  const onMessage = (peer: WirePeer, msg: IncomingMessage): void => {
    if (msg.type !== 'extended') return;
    if (msg.id === 0) {
      const h = decodeExtendedHandshake(msg.payload);
      remoteIds.set(peer, h.m.get('ut_metadata') ?? 0);
      return;
    }
    if (msg.id !== METADATA_ID) return;
    const m = decodeUtMetadata(msg.payload);
    if (m.type !== 'request') return;
    requests.push(m.piece);
    const id = remoteIds.get(peer) ?? 0;
    if (behaviour === 'silent' || id === 0) return;
    if (behaviour === 'reject') {
      peer.send({ type: 'extended', id, payload: encodeUtMetadata({ type: 'reject', piece: m.piece }) });
      return;
    }
    const start = m.piece * METADATA_PIECE_LENGTH;
    const data = Buffer.from(served.subarray(start, Math.min(announcedSize, start + METADATA_PIECE_LENGTH)));
    if (behaviour === 'liar') data[0] = data[0]! ^ 0xff;
    peer.send({ type: 'extended', id, payload: encodeUtMetadata({ type: 'data', piece: m.piece, totalSize: announcedSize, data }) });
  };
  const remoteIds = new Map<WirePeer, number>();
  const listener = await WirePeer.listen({ infoHash, reserved: makeReserved({ extensionProtocol: true }), onMessage }, (peer) => {
    state.connections++;
    void peer.closed.then(() => state.closedConnections++);
    void peer.handshaken(5000).then(
      () => {
        state.handshakes++;
        // Written by hand (keys in sorted order): the codec refuses to encode a size above the limit.
        const withSize = Buffer.from(`d1:md11:ut_metadatai${METADATA_ID}ee13:metadata_sizei${announcedSize}e1:v${5 + behaviour.length}:fake-${behaviour}e`);
        peer.send({ type: 'extended', id: 0, payload: withSize });
      },
      () => undefined,
    );
  });
  const server: FakeServer = {
    address: { host: '127.0.0.1', port: listener.port },
    requests,
    get closedConnections() {
      return state.closedConnections;
    },
    get connections() {
      return state.connections;
    },
    get handshakes() {
      return state.handshakes;
    },
    close: listener.close,
  };
  servers.push(server);
  return server;
}

function magnetFor(peers: readonly PeerAddress[]): MagnetLink {
  return { infoHash, infoHashHex: toHex(infoHash), trackers: [], peers, webSeeds: [] };
}

interface Fetched {
  readonly meta: Metainfo;
  readonly torrentBytes: Uint8Array;
  readonly found: Record<string, number>;
  readonly banned: string[];
}

let session: Session;
let dir = '';

/** Add the magnet of `peers`; resolve with the metadata (then remove the torrent), reject with the torrent's error. */
async function fetch(peers: FakeServer[], extra: AddOptions = {}, on: Session = session): Promise<Fetched> {
  const banned: string[] = [];
  const handle = await on.add(magnetFor(peers.map((p) => p.address)), { path: dir, trackers: false, metadataTimeoutMs: 4000, paused: true, ...extra });
  handle.on('warning', (w) => {
    if (w.code === 'peer-banned' && w.peer !== undefined) banned.push(`${w.peer.host}:${w.peer.port}`);
  });
  const got = new Promise<Fetched>((resolve, reject) => {
    handle.once('metadata', (meta) => {
      resolve({ meta, torrentBytes: handle.torrentFile!, found: handle.stats().found, banned });
      void handle.remove();
    });
    handle.whenDone().catch((err: unknown) => reject(Object.assign(err as Error, { banned })));
  });
  handle.resume();
  return got;
}

describe('metadata phase (BEP 9)', { timeout: 120_000 }, () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-metadata-'));
    session = new Session({ host: '127.0.0.1', port: 0, dht: false, encryption: 'off' });
    await session.listen();
  });
  after(async () => {
    await session.close();
    await Promise.all(servers.map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  });

  test('an honest peer: every piece requested, hash verified, a parseable torrent built', async () => {
    const honest = await fakePeer('honest');
    const got = await fetch([honest]);
    assert.equal(got.meta.infoHashHex, toHex(infoHash));
    assert.deepEqual(Buffer.from(got.meta.infoBytes), info);
    assert.equal(got.meta.info.name, 'metadata-test.bin');
    assert.deepEqual([...new Set(honest.requests)].sort(), [0, 1, 2]);
    assert.equal(metadataPieceCount(info.length), 3);
    assert.equal(got.found.manual, 1);
    assert.equal(parseTorrent(got.torrentBytes).infoHashHex, toHex(infoHash));
  });

  test('pieces are fetched from several peers at once', async () => {
    const a = await fakePeer('honest');
    const b = await fakePeer('honest');
    const got = await fetch([a, b]);
    assert.equal(got.meta.infoHashHex, toHex(infoHash));
    assert.deepEqual([...new Set([...a.requests, ...b.requests])].sort(), [0, 1, 2]);
    assert.equal(new Set(a.requests).size, a.requests.length, 'no piece asked twice of one peer');
    assert.equal(new Set(b.requests).size, b.requests.length, 'no piece asked twice of one peer');
  });

  test('a lying peer: the hash check fails, the metadata comes from the honest peer', async () => {
    const liar = await fakePeer('liar');
    const honest = await fakePeer('honest');
    const got = await fetch([liar, honest]);
    assert.deepEqual(Buffer.from(got.meta.infoBytes), info);
    assert.ok(liar.requests.length > 0, 'the liar was asked for pieces');
    assert.ok(!got.banned.includes(`127.0.0.1:${honest.address.port}`), 'the honest peer is never banned');
  });

  test('a lying peer alone is banned, never redialled, and its bytes are never trusted', async () => {
    const liar = await fakePeer('liar');
    await assert.rejects(fetch([liar]), (err: unknown) => {
      assert.ok(err instanceof SessionError);
      assert.equal(err.code, 'no-metadata');
      assert.deepEqual((err as unknown as { banned: string[] }).banned, [`127.0.0.1:${liar.address.port}`]);
      return true;
    });
    assert.deepEqual([...liar.requests].sort(), [0, 1, 2], 'every piece asked for exactly once before the ban');
    assert.equal(liar.connections, 1, 'the banned peer was not dialled again');
  });

  test('a rejecting peer: its pieces are retried from another peer', async () => {
    const rejecter = await fakePeer('reject');
    const got = await fetch([rejecter, await fakePeer('honest')]);
    assert.deepEqual(Buffer.from(got.meta.infoBytes), info);
    assert.ok(rejecter.requests.length > 0, 'the rejecting peer was asked first or alongside');
  });

  test('a silent peer does not hold the fetch up for its request timeout: others are asked in parallel', async () => {
    // A fake clock: the request timeout (10 s) can never pass, so only asking in parallel can finish.
    const clock = new FakeClock();
    const own = new Session({ host: '127.0.0.1', port: 0, dht: false, clock, encryption: 'off' });
    try {
      const silent = await fakePeer('silent');
      const honest = await fakePeer('honest');
      const got = fetch([silent, honest], { metadataTimeoutMs: 60_000 }, own);
      // Let both connect and the first asks go out, then 3.5 s of engine time: less than the 10 s timeout.
      await until(() => silent.requests.length > 0 && honest.handshakes > 0);
      for (let i = 0; i < 7; i++) {
        clock.advance(500);
        await new Promise((r) => setTimeout(r, 20));
      }
      const fetched = await got;
      assert.deepEqual(Buffer.from(fetched.meta.infoBytes), info);
      for (const piece of silent.requests) assert.ok(honest.requests.includes(piece), `piece ${piece} was asked of the honest peer too`);
      assert.ok(clock.now() - 1_700_000_000_000 < 10_000, 'fetched before any request could time out');
    } finally {
      await own.close();
    }
  });

  test('metadata_size above 32 MiB is refused before any request or allocation', async () => {
    const huge = await fakePeer('honest', 33 * 1024 * 1024);
    await assert.rejects(fetch([huge], { metadataTimeoutMs: 2000 }), (err: unknown) => err instanceof SessionError && err.code === 'no-metadata');
    assert.equal(huge.requests.length, 0);
    assert.ok(huge.closedConnections >= 1, 'the connection was closed');
  });

  test('peers announcing a different metadata_size are not mixed with the others', async () => {
    // The odd peer serves the real bytes padded to one more piece: consistent with its size, wrong hash.
    const padded = Buffer.concat([info, Buffer.alloc(METADATA_PIECE_LENGTH)]);
    const odd = await fakePeer('honest', padded.length, padded);
    const honest = await fakePeer('honest');
    const got = await fetch([odd, honest]);
    assert.deepEqual(Buffer.from(got.meta.infoBytes), info);
    assert.ok(!honest.requests.includes(3), 'the real peer is never asked for a piece past its size');
  });

  test('an aborted add rejects whenDone at once with aborted', async () => {
    const silent = await fakePeer('silent');
    const ac = new AbortController();
    const p = fetch([silent], { signal: ac.signal, metadataTimeoutMs: 60_000 });
    setTimeout(() => ac.abort(), 200);
    await assert.rejects(p, (err: unknown) => err instanceof SessionError && err.code === 'aborted');
  });
});

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), 'condition not reached in 5 s');
}

describe('torrent file around received metadata', () => {
  test('the info dict is spliced verbatim and the keys stay sorted', () => {
    const bytes = buildTorrentFile(info, ['http://127.0.0.1:1/announce', 'udp://127.0.0.1:2']);
    const meta = parseTorrent(bytes);
    assert.equal(meta.infoHashHex, toHex(infoHash));
    assert.deepEqual(meta.announce, [['http://127.0.0.1:1/announce'], ['udp://127.0.0.1:2']]);
    assert.ok(bytes.toString('latin1').startsWith('d8:announce'));
    assert.equal(meta.warnings.length, 0, `no warnings: ${meta.warnings.join('; ')}`);
  });

  test('an info dict in non-canonical order keeps its hash', () => {
    const odd = Buffer.from(`d4:name1:x6:lengthi1e12:piece lengthi16384e6:pieces20:${'a'.repeat(20)}e`);
    const meta = parseTorrent(buildTorrentFile(odd, []));
    assert.equal(meta.infoHashHex, createHash('sha1').update(odd).digest('hex'));
  });

  test('v2 (BEP 52): checked by SHA-256, whole once its piece layers are spliced in, and nothing else passes', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'tessera-v2-meta-'));
    try {
      await writeFile(join(tmp, 'v2.bin'), Buffer.alloc(5 * 16384 + 7, 9));
      const whole = parseTorrent(await createTorrent(join(tmp, 'v2.bin'), { version: 'v2', pieceLength: 16384 }));
      const v2Hash = whole.v2!.infoHash;
      const bare = metainfoFromInfoBytes(whole.infoBytes, [], { v2: v2Hash });
      assert.equal(bare.meta.v2?.layersComplete, false, 'the info dict alone has no piece layers');
      const f = whole.v2!.files[0]!;
      const layers = new Map([[toHex(f.root), f.layer!]]);
      const full = metainfoFromInfoBytes(whole.infoBytes, [], { v2: v2Hash }, layers);
      assert.equal(full.meta.v2?.layersComplete, true);
      assert.deepEqual(full.meta.info.merkle, whole.info.merkle);
      const mismatch = (f: () => unknown): void => assert.throws(f, (e: unknown) => e instanceof TesseraError && e.code === 'hash-mismatch');
      mismatch(() => metainfoFromInfoBytes(whole.infoBytes, [], { v2: Buffer.alloc(32, 1) }));
      mismatch(() => metainfoFromInfoBytes(whole.infoBytes, [], { v1: Buffer.alloc(20, 1), v2: v2Hash }));
      mismatch(() => metainfoFromInfoBytes(info, [], { v2: createHash('sha256').update(info).digest() }));
      mismatch(() => metainfoFromInfoBytes(info, [], {}));
      const forged = new Map([[toHex(f.root), Buffer.alloc(f.layer!.length, 5)]]);
      assert.throws(() => metainfoFromInfoBytes(whole.infoBytes, [], { v2: v2Hash }, forged), (e: unknown) => e instanceof MetainfoError && e.code === 'piece-layers');
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
