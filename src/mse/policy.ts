/**
 * Which handshakes we speak, and what we tell the user when a peer's policy and ours do not
 * meet.
 *
 *   prefer  (default; Transmission's and qBittorrent's defaults also allow both) outgoing:
 *           MSE offering RC4 and plaintext, redialled in plaintext if the peer drops it (as
 *           libtorrent does: plaintext-only clients close on the first bytes of an MSE
 *           handshake, while webtorrent and clients that require encryption never answer a
 *           plaintext one); incoming: either handshake, RC4 chosen when offered, as
 *           Transmission's "preferred" does, and qBittorrent and Deluge, which turn
 *           libtorrent's `prefer_rc4` on (libtorrent alone chooses plaintext when offered both).
 *   require outgoing and incoming: MSE with RC4 only.
 *   off     outgoing and incoming: the plaintext BitTorrent handshake only.
 */
import { CRYPTO_PLAINTEXT, CRYPTO_RC4 } from './handshake.js';

export type EncryptionPolicy = 'prefer' | 'require' | 'off';
export const ENCRYPTION_POLICIES: readonly EncryptionPolicy[] = ['prefer', 'require', 'off'];

/** crypto_provide of an outgoing MSE handshake; 0 means plaintext BitTorrent only. */
export function provideOf(policy: EncryptionPolicy): number {
  return policy === 'require' ? CRYPTO_RC4 : policy === 'prefer' ? CRYPTO_RC4 | CRYPTO_PLAINTEXT : 0;
}

/** Methods an incoming MSE handshake may select; 0 means we refuse MSE. */
export function acceptOf(policy: EncryptionPolicy): number {
  return provideOf(policy);
}

/**
 * Why a peer's encryption policy and ours did not meet:
 *   requires-encryption  it opened with MSE while ours is off, or closed our plaintext handshake
 *   refuses-encryption   it sent a plaintext handshake or dropped our MSE one while we require it
 */
export type EncryptionMismatch = 'requires-encryption' | 'refuses-encryption';

export interface MismatchNote {
  readonly address: string;
  readonly kind: EncryptionMismatch;
}

/** Peers whose encryption policy did not meet ours, each counted once per kind. */
export class EncryptionReport {
  private readonly seen = new Map<EncryptionMismatch, Set<string>>();
  /** Bound on the addresses remembered per kind: strangers can open many connections. */
  private static readonly MAX_ADDRESSES = 1000;

  constructor(private readonly onNote?: (note: MismatchNote) => void) {}

  note(address: string, kind: EncryptionMismatch): void {
    let set = this.seen.get(kind);
    if (set === undefined) this.seen.set(kind, (set = new Set()));
    if (set.has(address) || set.size >= EncryptionReport.MAX_ADDRESSES) return;
    set.add(address);
    this.onNote?.({ address, kind });
  }

  count(kind: EncryptionMismatch): number {
    return this.seen.get(kind)?.size ?? 0;
  }

  /** "3 peers required encryption (try --encryption prefer)", or undefined when none did. */
  describe(): string | undefined {
    const parts: string[] = [];
    const required = this.count('requires-encryption');
    const refused = this.count('refuses-encryption');
    if (required > 0) parts.push(`${plural(required)} required encryption (try --encryption prefer)`);
    if (refused > 0) parts.push(`${plural(refused)} refused encryption (try --encryption prefer)`);
    return parts.length === 0 ? undefined : parts.join(', ');
  }
}

function plural(n: number): string {
  return n === 1 ? '1 peer' : `${n} peers`;
}
