/**
 * uTP (BEP 29): BitTorrent over UDP with LEDBAT congestion control, which backs off as soon
 * as its own packets start to queue, so it yields to TCP on a shared link.
 *
 * Owns the packet codec (pure), the connection state machine (sans I/O: packets in, packets
 * out, time injected) and its congestion control. It imports only `util`; sockets live at
 * the edge that drives the machines.
 */
export { UtpError, type UtpErrorCode } from './errors.js';
export { decodePacket, encodePacket, isUtpPacket, type UtpHeader, type UtpPacket } from './packet.js';
export { PACKET_BYTES, RECV_WINDOW, SEND_BUFFER, UtpConnection, type UtpConnectionOptions, type UtpHooks, type UtpState } from './connection.js';
