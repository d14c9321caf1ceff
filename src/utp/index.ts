/**
 * uTP (BEP 29): BitTorrent over UDP with LEDBAT congestion control, which backs off as soon
 * as its own packets start to queue, so it yields to TCP on a shared link.
 *
 * Owns the packet codec (pure), the connection state machine (sans I/O: packets in, packets
 * out, time injected) and its congestion control, and at the edge the UDP socket shared by
 * first byte (mux.ts), the connections on it (manager.ts) and a `Duplex` per connection.
 * It imports only `util`.
 */
export { UtpError, type UtpErrorCode } from './errors.js';
export { decodePacket, encodePacket, isUtpPacket, type UtpHeader, type UtpPacket } from './packet.js';
export { PACKET_BYTES, RECV_WINDOW, SEND_BUFFER, UtpConnection, type UtpConnectionOptions, type UtpHooks, type UtpState } from './connection.js';
export { UtpEndpoint, type UtpEndpointOptions } from './endpoint.js';
export { UtpStream } from './stream.js';
