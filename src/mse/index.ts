/**
 * Message Stream Encryption / Protocol Encryption (MSE/PE): the obfuscated handshake many
 * clients require before the BitTorrent handshake, and the RC4 stream that may follow.
 *
 * Owns the Diffie-Hellman exchange, RC4 (OpenSSL's when the process has it, see rc4.ts), the
 * two handshake state machines (pure: bytes in, bytes out) and the encryption policy. It
 * imports only `util`; the socket edge that drives the machines lives in `peer/`.
 */
export { MseError, type MseErrorCode } from './errors.js';
export { Rc4, type StreamCipher } from './rc4.js';
export {
  CRYPTO_PLAINTEXT,
  CRYPTO_RC4,
  MAX_PAD,
  MseInitiator,
  MseResponder,
  req2Hash,
  type CryptoMethod,
  type InitiatorOptions,
  type MseResult,
  type MseStep,
  type RandomSource,
  type ResponderOptions,
} from './handshake.js';
export {
  acceptOf,
  ENCRYPTION_POLICIES,
  EncryptionReport,
  provideOf,
  type EncryptionMismatch,
  type EncryptionPolicy,
  type MismatchNote,
} from './policy.js';
