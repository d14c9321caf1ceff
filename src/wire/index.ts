/**
 * The peer wire layer: pure codecs over bytes for everything a peer connection says after
 * TCP connects. It owns the BEP 3 handshake and messages, their framing with size limits
 * (SAFETY.md), the fast extension (BEP 6), the extension protocol (BEP 10) with
 * ut_metadata (BEP 9) and ut_pex (BEP 11), and compact peer entries (BEP 23, BEP 7).
 *
 * No sockets, timers or events: it imports only `bencode`, `util` and `metainfo` types.
 * Connection state (choking, requests, timeouts) belongs to `peer/`.
 */
export { WireError, type WireErrorCode } from './errors.js';
export {
  decodeHandshake,
  decodeHandshakeHead,
  decodePeerId,
  DHT_BIT,
  V2_UPGRADE_BIT,
  encodeHandshake,
  EXTENSION_PROTOCOL_BIT,
  FAST_EXTENSION_BIT,
  HANDSHAKE_HEAD_LENGTH,
  HANDSHAKE_LENGTH,
  hasReservedBit,
  INFO_HASH_LENGTH,
  isHandshakePrefix,
  makeReserved,
  PEER_ID_LENGTH,
  readCapabilities,
  RESERVED_LENGTH,
  type Capabilities,
  type Handshake,
  type HandshakeHead,
  type ReservedBit,
} from './handshake.js';
export {
  decodeMessage,
  encodeHave,
  encodeMessage,
  encodePieceHeader,
  encodeRequest,
  isKnownMessageId,
  KEEP_ALIVE,
  MessageId,
  PIECE_HEADER_LENGTH,
  type BlockRef,
  type IncomingMessage,
  type Message,
  type MessageType,
  type UnknownMessage,
} from './messages.js';
export {
  BLOCK_LENGTH,
  decodeFrame,
  DEFAULT_FRAME_LIMITS,
  FrameReader,
  frameLimits,
  MAX_BITFIELD_BYTES,
  MAX_WIRE_MESSAGE,
  type FrameLimits,
  type FrameResult,
} from './framer.js';
export {
  decodeExtendedHandshake,
  encodeExtendedHandshake,
  EXTENDED_HANDSHAKE_ID,
  MAX_CLIENT_NAME_BYTES,
  MAX_REQQ,
  type ExtendedHandshake,
} from './extension.js';
export {
  decodeUtMetadata,
  encodeUtMetadata,
  isValidMetadataSize,
  MAX_METADATA_SIZE,
  METADATA_PIECE_LENGTH,
  metadataPieceCount,
  metadataPieceLength,
  UT_METADATA,
  type UnknownUtMetadata,
  type UtMetadataMessage,
} from './ut-metadata.js';
export { decodeUtPex, encodeUtPex, MAX_PEX_PEERS, PexFlag, UT_PEX, type DecodedPex, type PexMessage, type PexPeer } from './ut-pex.js';
export { allowedFastSet } from './fast.js';
export {
  bytesToIp,
  COMPACT_IPV4_LENGTH,
  COMPACT_IPV6_LENGTH,
  compactEntryLength,
  decodeCompactPeers,
  encodeCompactPeer,
  encodeCompactPeers,
  ipFamily,
  ipToBytes,
  type IpFamily,
} from './compact.js';
export {
  decodeHashMessage,
  encodeHashMessage,
  HashMessageId,
  isHashMessageId,
  MAX_HASHES_PER_REQUEST,
  type HashMessage,
  type HashRequest,
} from './hashes.js';
