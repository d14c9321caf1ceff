/**
 * PCP packets (RFC 6887), MAP opcode only: pure functions between UDP payloads and typed
 * messages, a client's view. A request is the 24-byte common header (§7.1) and the 36-byte
 * MAP body (§11.1); a response is the 24-byte response header (§7.2), the MAP body for MAP,
 * then options, which we skip (bounded: a PCP message is at most 1100 bytes, a multiple of 4).
 * A NAT-PMP-only gateway answers a PCP request with NAT-PMP's 8-byte "unsupported version"
 * (RFC 6887 Appendix A); that is decoded too, so the caller can fall back. Anything else is a
 * `PortMapError` `bad-pcp`.
 */
import { isIPv4 } from 'node:net';
import { PortMapError } from './errors.js';

export const PCP_PORT = 5351;
export const PCP_VERSION = 2;
export const OP_MAP = 1;
export const PCP_MAX_MESSAGE = 1100;
export const PCP_NONCE_BYTES = 12;
const HEADER = 24;
const MAP_BODY = 36;
const IANA_TCP = 6;
const IANA_UDP = 17;

/** Result codes of §7.4. */
export const PCP_RESULTS: Readonly<Record<number, string>> = {
  0: 'success',
  1: 'unsupported version',
  2: 'not authorized',
  3: 'malformed request',
  4: 'unsupported opcode',
  5: 'unsupported option',
  6: 'malformed option',
  7: 'network failure',
  8: 'no resources',
  9: 'unsupported protocol',
  10: 'user exceeded quota',
  11: 'cannot provide external address',
  12: 'address mismatch',
  13: 'excessive remote peers',
};

export interface PcpMapRequest {
  readonly protocol: 'TCP' | 'UDP';
  readonly internalPort: number;
  /** 0: any. */
  readonly suggestedExternalPort: number;
  /** Seconds; 0 deletes the mapping (§15). */
  readonly lifetime: number;
  /** Our address as the gateway sees it (an IPv4 address, sent IPv4-mapped). */
  readonly clientAddress: string;
  /** 12 random bytes, the same for every request about one mapping (§11.1). */
  readonly nonce: Uint8Array;
}

export type PcpReply =
  | {
      readonly kind: 'map';
      readonly result: number;
      readonly lifetime: number;
      readonly epoch: number;
      readonly nonce: Uint8Array;
      readonly protocol: 'TCP' | 'UDP' | 'other';
      readonly internalPort: number;
      readonly externalPort: number;
      /** Dotted IPv4 when the address is IPv4-mapped, else the IPv6 text. */
      readonly externalAddress: string;
    }
  /** A PCP response without a MAP body (an error such as unsupported version or opcode). */
  | { readonly kind: 'header'; readonly version: number; readonly result: number; readonly lifetime: number; readonly epoch: number }
  /** A NAT-PMP-only gateway's answer to a PCP request. */
  | { readonly kind: 'natpmp-only' };

export function encodePcpMapRequest(r: PcpMapRequest): Uint8Array {
  checkPort(r.internalPort, 'internal');
  checkPort(r.suggestedExternalPort, 'external');
  if (r.internalPort === 0) throw new PortMapError('bad-pcp', 'internal port 0 is not a mapping');
  if (!Number.isInteger(r.lifetime) || r.lifetime < 0 || r.lifetime > 0xffffffff) throw new PortMapError('bad-pcp', `lifetime out of range: ${r.lifetime}`);
  if (r.nonce.length !== PCP_NONCE_BYTES) throw new PortMapError('bad-pcp', `the nonce must be ${PCP_NONCE_BYTES} bytes`);
  if (!isIPv4(r.clientAddress)) throw new PortMapError('bad-pcp', `client address ${r.clientAddress} is not IPv4`);
  const out = Buffer.alloc(HEADER + MAP_BODY);
  out[0] = PCP_VERSION;
  out[1] = OP_MAP;
  out.writeUInt32BE(r.lifetime, 4);
  writeMappedIPv4(out, 8, r.clientAddress);
  out.set(r.nonce, HEADER);
  out[HEADER + 12] = r.protocol === 'TCP' ? IANA_TCP : IANA_UDP;
  out.writeUInt16BE(r.internalPort, HEADER + 16);
  out.writeUInt16BE(r.suggestedExternalPort, HEADER + 18);
  // Suggested external address: the IPv4-mapped "any" (::ffff:0.0.0.0), §11.1.
  writeMappedIPv4(out, HEADER + 20, '0.0.0.0');
  return out;
}

/** Decodes what the gateway sent back; throws `PortMapError` `bad-pcp` for anything malformed. */
export function decodePcpReply(packet: Uint8Array): PcpReply {
  const b = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
  if (b.length >= 4 && b[0] === 0) {
    // RFC 6886 §3.5: version 0, the request's opcode + 128, result 1 (unsupported version).
    if (b.length === 8 && b[1]! >= 128 && b.readUInt16BE(2) === 1) return { kind: 'natpmp-only' };
    throw new PortMapError('bad-pcp', 'NAT-PMP packet in answer to a PCP request');
  }
  if (b.length < HEADER) throw new PortMapError('bad-pcp', `PCP response of ${b.length} bytes is too short`);
  if (b.length > PCP_MAX_MESSAGE || b.length % 4 !== 0) throw new PortMapError('bad-pcp', `PCP response of ${b.length} bytes is not a PCP message`);
  const version = b[0]!;
  const opcode = b[1]!;
  if ((opcode & 0x80) === 0) throw new PortMapError('bad-pcp', 'PCP packet is a request, not a response');
  const result = b[3]!;
  const lifetime = b.readUInt32BE(4);
  const epoch = b.readUInt32BE(8);
  if (version !== PCP_VERSION || b.length === HEADER) return { kind: 'header', version, result, lifetime, epoch };
  if ((opcode & 0x7f) !== OP_MAP) throw new PortMapError('bad-pcp', `PCP response to opcode ${opcode & 0x7f}, not MAP`);
  if (b.length < HEADER + MAP_BODY) throw new PortMapError('bad-pcp', `PCP MAP response of ${b.length} bytes is too short`);
  const proto = b[HEADER + 12];
  return {
    kind: 'map',
    result,
    lifetime,
    epoch,
    nonce: new Uint8Array(b.subarray(HEADER, HEADER + PCP_NONCE_BYTES)),
    protocol: proto === IANA_TCP ? 'TCP' : proto === IANA_UDP ? 'UDP' : 'other',
    internalPort: b.readUInt16BE(HEADER + 16),
    externalPort: b.readUInt16BE(HEADER + 18),
    externalAddress: readAddress(b, HEADER + 20),
  };
}

/** One response's epoch: the server's (seconds) and ours when it arrived (seconds, fractions allowed). */
export interface PcpEpochSample {
  readonly server: number;
  readonly client: number;
}

/**
 * RFC 6887 §8.5: did the server lose its state (restart) between two responses? Yes when its
 * epoch went back by more than a second, or when its epoch and our clock advanced by amounts
 * that differ by more than 2 s plus a sixteenth (the clocks' allowed drift).
 */
export function pcpServerLostState(prev: PcpEpochSample, curr: PcpEpochSample): boolean {
  if (curr.server < prev.server - 1) return true;
  const clientDelta = curr.client - prev.client;
  const serverDelta = curr.server - prev.server;
  return clientDelta + 2 < serverDelta - serverDelta / 16 || serverDelta + 2 < clientDelta - clientDelta / 16;
}

function checkPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new PortMapError('bad-pcp', `${what} port out of range: ${port}`);
}

function writeMappedIPv4(out: Buffer, at: number, address: string): void {
  out.fill(0, at, at + 10);
  out[at + 10] = 0xff;
  out[at + 11] = 0xff;
  address.split('.').forEach((x, i) => (out[at + 12 + i] = Number(x)));
}

/** A 16-byte address: dotted IPv4 when IPv4-mapped (::ffff:a.b.c.d), else IPv6 groups. */
function readAddress(b: Buffer, at: number): string {
  let mapped = b[at + 10] === 0xff && b[at + 11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) if (b[at + i] !== 0) mapped = false;
  if (mapped) return `${b[at + 12]}.${b[at + 13]}.${b[at + 14]}.${b[at + 15]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(at + i).toString(16));
  return groups.join(':');
}
