/**
 * A 1,000,000-piece torrent (16 blocks per piece): the picker must stay cheap per block.
 * Only completion is asserted; the timings are reported as diagnostics, never compared.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Bitfield } from '../../src/util/bitfield.js';
import { BLOCK_SIZE, Picker } from '../../src/swarm/picker.js';
import { seeded } from './picker-dsl.js';

const PIECES = 1_000_000;
const PIECE_LENGTH = 16 * BLOCK_SIZE;

it('picks quickly on a 1,000,000-piece torrent', (t) => {
  const rng = seeded(42);
  let start = performance.now();
  const picker = new Picker({ pieceCount: PIECES, pieceLength: PIECE_LENGTH, totalLength: PIECES * PIECE_LENGTH, have: new Bitfield(PIECES), rng });
  const tBuild = performance.now() - start;

  const fields: Bitfield[] = [];
  for (let k = 0; k < 30; k++) {
    const has = new Bitfield(PIECES);
    // 5 seeds, 25 leechers with 10-60% of the pieces.
    const share = k < 5 ? 1 : 0.1 + 0.5 * rng();
    if (share === 1) has.setAll();
    else for (let i = 0; i < PIECES; i++) if (rng() < share) has.set(i);
    fields.push(has);
  }
  start = performance.now();
  const peers: number[] = [];
  fields.forEach((has, k) => {
    picker.addPeer(k, has);
    peers.push(k);
  });
  const tPeers = performance.now() - start;

  start = performance.now();
  let blocks = 0;
  let pieces = 0;
  let haves = 0;
  while (pieces < 20_000) {
    for (const k of peers) {
      for (const r of picker.pick(k, 64)) {
        const res = picker.onBlock(k, r.piece, r.begin, r.length);
        assert.equal(res.accepted, true);
        blocks++;
        if (res.pieceComplete) {
          picker.pieceVerified(r.piece);
          pieces++;
        }
      }
      // Leechers keep announcing pieces, which moves availability buckets.
      if (k >= 5) {
        picker.peerHave(k, Math.floor(rng() * PIECES));
        haves++;
      }
    }
  }
  const tLoop = performance.now() - start;

  start = performance.now();
  picker.removePeer(29);
  picker.removePeer(0);
  const tRemove = performance.now() - start;

  assert.equal(picker.verifiedCount, pieces);
  t.diagnostic(`build ${tBuild.toFixed(0)} ms; 30 peers added ${tPeers.toFixed(0)} ms`);
  t.diagnostic(
    `${blocks} blocks / ${pieces} pieces / ${haves} haves in ${tLoop.toFixed(0)} ms: ` +
      `${((tLoop * 1e6) / blocks).toFixed(0)} ns per block (pick+onBlock), ` +
      `${((blocks * BLOCK_SIZE) / (tLoop / 1000) / 2 ** 20).toFixed(0)} MiB/s of picker throughput`,
  );
  t.diagnostic(`removePeer of a leecher and a seed: ${tRemove.toFixed(1)} ms`);
});

it('a peer holding only the commonest pieces still finds them', (t) => {
  const rng = seeded(7);
  const picker = new Picker({ pieceCount: PIECES, pieceLength: PIECE_LENGTH, totalLength: PIECES * PIECE_LENGTH, have: new Bitfield(PIECES), rng });
  // Peer 0 has every piece, peer 1 only the last 10; peer 2 has the last 10 too, so those
  // are the commonest and sit at the far end of the rarest-first order for peer 1.
  const all = new Bitfield(PIECES);
  for (let i = 0; i < PIECES - 1; i++) all.set(i);
  const few = new Bitfield(PIECES);
  for (let i = PIECES - 10; i < PIECES; i++) few.set(i);
  picker.addPeer(0, all);
  picker.addPeer(1, few);
  picker.addPeer(2, few);
  const start = performance.now();
  let picked = 0;
  for (let round = 0; round < 20; round++) picked += picker.pick(1, 16).length;
  const ms = performance.now() - start;
  assert.equal(picked, 10 * 16, "all blocks of its ten pieces, then nothing");
  t.diagnostic(`worst-case walk: ${picked} blocks over 20 calls in ${ms.toFixed(1)} ms`);
});
