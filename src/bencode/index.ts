/**
 * Bencode (BEP 3): a strict, iterative decoder that keeps byte strings as bytes and records
 * each dictionary's byte span, and a canonical encoder. Pure functions over bytes; this layer
 * imports nothing but `util`.
 */
export { decode, decodeDetailed, type DecodeOptions, type DecodeResult, type SkippedValue, type TakenValue } from './decode.js';
export { BencodeCursor, byteStringAt, byteStringListAt, canonicalByteStringAt, compareBytes, smallIntAt, type ByteSpan, type TokenKind } from './cursor.js';
export { encode } from './encode.js';
export { BencodeError } from './errors.js';
export { BDict, type BValue, type Encodable } from './types.js';
export { asBytes, asDict, asInt, asList, asText, isDict } from './access.js';
