/**
 * Who may hold a connection to a swarm: one connection per peer (by peer id and by IP and
 * port), a few per IP, and, when every slot is taken, room made for a newcomer by closing the
 * least useful peer (peer-limits.ts has the rules as pure functions; this applies them to the
 * swarm's live peers).
 */
import type { PeerAddress } from '../metainfo/types.js';
import type { PeerConnection } from '../peer/connection.js';
import { bytesEqual } from '../util/bytes.js';
import { ipKey, keepNewerDuplicate, leastUseful } from './peer-limits.js';
import { peerKey } from './peer-pool.js';
import type { SwarmPeer } from './swarm-peer.js';

export interface AdmissionLimits {
  /** Connections one IP may hold, both ways. */
  readonly maxPerIp: number;
  /** Connections in all, incoming ones included. */
  readonly slots: number;
}

/**
 * An incoming peer past its handshake (its IP not banned): refused when its IP already holds
 * its share of connections or this very address is connected; when every slot is taken, the
 * least useful peer is closed to make room (none useful to close: refused).
 */
export function admitIncoming(peers: ReadonlyMap<number, SwarmPeer>, conn: PeerConnection, limits: AdmissionLimits): boolean {
  const ip = ipKey(conn.address.host);
  let sameIp = 0;
  for (const p of peers.values()) {
    if (p.ip !== ip) continue;
    if (p.conn.address.port === conn.address.port) return false;
    sameIp++;
  }
  if (sameIp >= limits.maxPerIp) return false;
  if (peers.size < limits.slots) return true;
  const victim = leastUseful(
    [...peers.values()]
      .filter((p) => p.registered)
      .map((p) => ({
        key: p.key,
        downloading: p.conn.amInterested && !p.conn.peerChoking,
        uploading: !p.conn.amChoking && p.conn.peerInterested,
        interested: p.conn.amInterested || p.conn.peerInterested,
        lastActive: p.lastDataAt,
      })),
  );
  if (victim === undefined) return false;
  peers.get(victim)!.conn.close('closed to make room for a new peer');
  return true;
}

/**
 * A connection whose handshake carries a peer id we already hold: keep one (see
 * keepNewerDuplicate). Returns false when the new connection is the one to refuse.
 */
export function settleDuplicate(peers: ReadonlyMap<number, SwarmPeer>, conn: PeerConnection, peerId: Uint8Array, ourId: Uint8Array): boolean {
  for (const p of peers.values()) {
    const other = p.conn;
    if (other === conn || !p.registered || other.remotePeerId === undefined || !bytesEqual(other.remotePeerId, peerId)) continue;
    if (!keepNewerDuplicate(other.outgoing, conn.outgoing, ourId, peerId)) return false;
    other.close('duplicate connection');
    return true;
  }
  return true;
}

/**
 * A filter for the addresses to dial now: not connected already (either way), and no IP
 * past its share of connections, counting the dials it has let through.
 */
export function dialFilter(peers: ReadonlyMap<number, SwarmPeer>, maxPerIp: number): (a: PeerAddress) => boolean {
  const perIp = new Map<string, number>();
  const connected = new Set<string>();
  for (const p of peers.values()) {
    perIp.set(p.ip, (perIp.get(p.ip) ?? 0) + 1);
    connected.add(peerKey({ host: p.ip, port: p.conn.address.port }));
    if (p.listenPort !== undefined) connected.add(peerKey({ host: p.ip, port: p.listenPort }));
  }
  return (a) => {
    const ip = ipKey(a.host);
    const n = perIp.get(ip) ?? 0;
    if (n >= maxPerIp || connected.has(peerKey({ host: ip, port: a.port }))) return false;
    perIp.set(ip, n + 1);
    return true;
  };
}
