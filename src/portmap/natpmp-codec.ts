/**
 * NAT-PMP packets (RFC 6886): pure functions between UDP payloads and typed messages. Only a
 * client's view: the two requests we send to the gateway's port 5351 and the replies we accept.
 * A reply is exactly the length its opcode defines (§3.2, §3.3); anything else is a
 * `PortMapError` `bad-natpmp`.
 */
import { PortMapError } from './errors.js';

export const NATPMP_PORT = 5351;
export const NATPMP_VERSION = 0;
/** Opcodes (§3.3): 1 maps UDP, 2 maps TCP; a reply's opcode is the request's plus 128. */
export const OP_EXTERNAL_ADDRESS = 0;
export const OP_MAP_UDP = 1;
export const OP_MAP_TCP = 2;

/** Result codes of §3.5. */
export const NATPMP_RESULTS: Readonly<Record<number, string>> = {
  0: 'success',
  1: 'unsupported version',
  2: 'not authorized or refused',
  3: 'network failure',
  4: 'out of resources',
  5: 'unsupported opcode',
};

export type NatPmpReply =
  | { readonly op: 'external-address'; readonly result: number; readonly epoch: number; readonly address: string }
  | {
      readonly op: 'map';
      readonly protocol: 'UDP' | 'TCP';
      readonly result: number;
      readonly epoch: number;
      readonly internalPort: number;
      readonly externalPort: number;
      readonly lifetime: number;
    };

export function encodeExternalAddressRequest(): Uint8Array {
  return Uint8Array.of(NATPMP_VERSION, OP_EXTERNAL_ADDRESS);
}

/** A mapping request; `lifetime` 0 with `externalPort` 0 deletes the mapping (§3.4). */
export function encodeMapRequest(protocol: 'UDP' | 'TCP', internalPort: number, externalPort: number, lifetime: number): Uint8Array {
  checkPort(internalPort, 'internal');
  checkPort(externalPort, 'external');
  if (!Number.isInteger(lifetime) || lifetime < 0 || lifetime > 0xffffffff) throw new PortMapError('bad-natpmp', `lifetime out of range: ${lifetime}`);
  const out = Buffer.alloc(12);
  out[0] = NATPMP_VERSION;
  out[1] = protocol === 'UDP' ? OP_MAP_UDP : OP_MAP_TCP;
  out.writeUInt16BE(internalPort, 4);
  out.writeUInt16BE(externalPort, 6);
  out.writeUInt32BE(lifetime, 8);
  return out;
}

function checkPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new PortMapError('bad-natpmp', `${what} port out of range: ${port}`);
}

/** Decodes a reply from the gateway; throws `PortMapError` `bad-natpmp` for anything malformed. */
export function decodeNatPmpReply(packet: Uint8Array): NatPmpReply {
  if (packet.length < 4) throw new PortMapError('bad-natpmp', `NAT-PMP reply of ${packet.length} bytes is too short`);
  const b = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
  if (b[0] !== NATPMP_VERSION) throw new PortMapError('bad-natpmp', `NAT-PMP reply has version ${b[0]}`);
  const op = b[1]!;
  if (op < 128) throw new PortMapError('bad-natpmp', 'NAT-PMP packet is a request, not a reply');
  const result = b.readUInt16BE(2);
  // §3.5: a reply to an unsupported version or opcode may carry only the 8-byte header.
  if (op === 128 + OP_EXTERNAL_ADDRESS) {
    if (result !== 0 && b.length === 8) return { op: 'external-address', result, epoch: b.readUInt32BE(4), address: '0.0.0.0' };
    if (b.length !== 12) throw new PortMapError('bad-natpmp', `external address reply must be 12 bytes, got ${b.length}`);
    return { op: 'external-address', result, epoch: b.readUInt32BE(4), address: `${b[8]}.${b[9]}.${b[10]}.${b[11]}` };
  }
  if (op === 128 + OP_MAP_UDP || op === 128 + OP_MAP_TCP) {
    const protocol = op === 128 + OP_MAP_UDP ? 'UDP' : 'TCP';
    if (result !== 0 && b.length === 8) return { op: 'map', protocol, result, epoch: b.readUInt32BE(4), internalPort: 0, externalPort: 0, lifetime: 0 };
    if (b.length !== 16) throw new PortMapError('bad-natpmp', `mapping reply must be 16 bytes, got ${b.length}`);
    return { op: 'map', protocol, result, epoch: b.readUInt32BE(4), internalPort: b.readUInt16BE(8), externalPort: b.readUInt16BE(10), lifetime: b.readUInt32BE(12) };
  }
  throw new PortMapError('bad-natpmp', `unknown NAT-PMP reply opcode ${op}`);
}
