/**
 * The MSE/PE handshake (Message Stream Encryption, as specified by Azureus and implemented by
 * libtorrent, Transmission, aria2 and WebTorrent), as two sans-I/O state machines: bytes in,
 * bytes to send and a result out. No sockets, no timers; the caller owns both.
 *
 *   1 A->B: Ya, PadA
 *   2 B->A: Yb, PadB
 *   3 A->B: HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
 *           ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
 *   4 B->A: ENCRYPT(VC, crypto_select, len(PadD), PadD), ENCRYPT2(payload)
 *   5 A->B: ENCRYPT2(payload)
 *
 * SKEY is the info hash; A encrypts with HASH('keyA', S, SKEY), B with HASH('keyB', S, SKEY),
 * each RC4 keystream with its first 1024 bytes discarded. Padding is at most 512 bytes, so the
 * search for each synchronisation marker reads a bounded number of bytes before giving up.
 *
 * States, initiator: yb -> sync -> select -> pad-d -> done
 *         responder: ya -> sync -> skey -> vc -> pad-c -> ia -> done
 * Any violation throws an `MseError`, after which the machine must not be fed again.
 */
import { createHash, randomBytes } from 'node:crypto';
import { DH_LENGTH, PRIVATE_KEY_BYTES, dhKeyPair, dhSecret, type DhKeyPair } from './dh.js';
import { mseError } from './errors.js';
import { Rc4, type StreamCipher } from './rc4.js';

export const CRYPTO_PLAINTEXT = 0x01;
export const CRYPTO_RC4 = 0x02;
/** The spec's bound on PadA, PadB, PadC and PadD. */
export const MAX_PAD = 512;
const VC_LENGTH = 8;
const HASH_LENGTH = 20;
const DISCARD = 1024;

export type CryptoMethod = 'plaintext' | 'rc4';
/** n random bytes; injected by tests for reproducible handshakes. */
export type RandomSource = (n: number) => Uint8Array;

export interface MseResult {
  readonly method: CryptoMethod;
  /** The ciphers of the payload stream, when RC4 was selected (OpenSSL's when the process has it). */
  readonly encrypt: StreamCipher | undefined;
  readonly decrypt: StreamCipher | undefined;
  /** SKEY: the info hash the stream is for. */
  readonly infoHash: Uint8Array;
  /** Payload that already arrived, in clear: the initiator's IA first, then what followed. */
  readonly payload: Uint8Array;
}

export interface MseStep {
  /** Bytes to send now, in order. */
  readonly send: Uint8Array[];
  /** Set once the handshake is complete. */
  readonly done?: MseResult;
}

function sha1(...parts: (Uint8Array | string)[]): Buffer {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** HASH('req2', SKEY): what a responder looks its torrents up by. */
export function req2Hash(infoHash: Uint8Array): Buffer {
  return sha1('req2', infoHash);
}

function xor(a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

function cipher(name: 'keyA' | 'keyB', secret: Uint8Array, infoHash: Uint8Array): Rc4 {
  const rc4 = new Rc4(sha1(name, secret, infoHash));
  rc4.discard(DISCARD);
  return rc4;
}

function padding(random: RandomSource): Uint8Array {
  const r = random(2);
  const n = (r[0]! | (r[1]! << 8)) % MAX_PAD;
  return random(n);
}

function methodOf(select: number): CryptoMethod {
  return select === CRYPTO_RC4 ? 'rc4' : 'plaintext';
}

/** Bytes received but not yet consumed; each push copies, as socket chunks may be reused. */
class Inbox {
  private buf: Buffer = Buffer.alloc(0);

  get length(): number {
    return this.buf.length;
  }

  push(chunk: Uint8Array): void {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
  }

  take(n: number): Buffer {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Where `marker` starts, looking only at starts ≤ maxStart; -1 if absent so far. */
  find(marker: Uint8Array, maxStart: number): number {
    return this.buf.subarray(0, maxStart + marker.length).indexOf(marker);
  }

  rest(): Buffer {
    return this.take(this.buf.length);
  }
}

export interface InitiatorOptions {
  infoHash: Uint8Array;
  /** crypto_provide: CRYPTO_PLAINTEXT | CRYPTO_RC4, one or both. */
  provide: number;
  /** IA: payload sent inside step 3, usually empty or the BitTorrent handshake. */
  initialPayload?: Uint8Array;
  random?: RandomSource;
}

/** The side that opened the connection (A). Call `start()` once, then `receive()` per chunk. */
export class MseInitiator {
  private state: 'start' | 'yb' | 'sync' | 'select' | 'pad-d' | 'done' = 'start';
  private readonly inbox = new Inbox();
  private readonly random: RandomSource;
  private readonly keys: DhKeyPair;
  private encrypt: Rc4 | undefined;
  private decrypt: Rc4 | undefined;
  private marker: Uint8Array = new Uint8Array(0);
  private select = 0;
  private padLength = 0;

  constructor(private readonly opts: InitiatorOptions) {
    if ((opts.provide & ~(CRYPTO_PLAINTEXT | CRYPTO_RC4)) !== 0 || opts.provide === 0) throw new RangeError(`bad crypto_provide ${opts.provide}`);
    if ((opts.initialPayload?.length ?? 0) > 0xffff) throw new RangeError('IA is at most 65535 bytes');
    this.random = opts.random ?? randomBytes;
    this.keys = dhKeyPair(this.random(PRIVATE_KEY_BYTES));
  }

  /** Step 1: Ya and PadA. */
  start(): Uint8Array {
    if (this.state !== 'start') throw new Error('MseInitiator.start called twice');
    this.state = 'yb';
    return Buffer.concat([this.keys.publicKey, padding(this.random)]);
  }

  receive(chunk: Uint8Array): MseStep {
    this.inbox.push(chunk);
    const send: Uint8Array[] = [];
    for (;;) {
      switch (this.state) {
        case 'start':
        case 'done':
          throw new Error(`MseInitiator.receive in state ${this.state}`);
        case 'yb': {
          if (this.inbox.length < DH_LENGTH) return { send };
          const secret = dhSecret(this.keys, this.inbox.take(DH_LENGTH));
          if (secret === undefined) throw mseError('bad-key', 'the peer sent a degenerate Diffie-Hellman key');
          const skey = this.opts.infoHash;
          this.encrypt = cipher('keyA', secret, skey);
          this.decrypt = cipher('keyB', secret, skey);
          const ia = this.opts.initialPayload ?? new Uint8Array(0);
          const head = Buffer.alloc(VC_LENGTH + 4 + 2 + 2);
          head.writeUInt32BE(this.opts.provide, VC_LENGTH);
          head.writeUInt16BE(ia.length, VC_LENGTH + 6);
          send.push(sha1('req1', secret), xor(req2Hash(skey), sha1('req3', secret)), this.encrypt.processCopy(Buffer.concat([head, ia])));
          // ENCRYPT(VC) is the next eight keystream bytes of B, since VC is zeros.
          this.marker = this.decrypt.clone().processCopy(new Uint8Array(VC_LENGTH));
          this.state = 'sync';
          break;
        }
        case 'sync': {
          const at = this.inbox.find(this.marker, MAX_PAD);
          if (at < 0) {
            if (this.inbox.length >= MAX_PAD + VC_LENGTH) throw mseError('no-sync', 'no encrypted verification constant within 512 bytes of padding');
            return { send };
          }
          this.inbox.take(at);
          this.state = 'select';
          break;
        }
        case 'select': {
          if (this.inbox.length < VC_LENGTH + 6) return { send };
          const head = this.inbox.take(VC_LENGTH + 6);
          this.decrypt!.process(head);
          const select = head.readUInt32BE(VC_LENGTH);
          if ((select !== CRYPTO_PLAINTEXT && select !== CRYPTO_RC4) || (select & this.opts.provide) === 0) {
            throw mseError('bad-select', `the peer selected crypto method ${select}, we provided ${this.opts.provide}`);
          }
          this.select = select;
          this.padLength = head.readUInt16BE(VC_LENGTH + 4);
          if (this.padLength > MAX_PAD) throw mseError('bad-length', `PadD of ${this.padLength} bytes`);
          this.state = 'pad-d';
          break;
        }
        case 'pad-d': {
          if (this.inbox.length < this.padLength) return { send };
          this.decrypt!.process(this.inbox.take(this.padLength));
          this.state = 'done';
          const rc4 = this.select === CRYPTO_RC4;
          const payload = this.inbox.rest();
          if (rc4) this.decrypt!.process(payload);
          return {
            send,
            done: {
              method: methodOf(this.select),
              encrypt: rc4 ? this.encrypt!.handOver() : undefined,
              decrypt: rc4 ? this.decrypt!.handOver() : undefined,
              infoHash: this.opts.infoHash,
              payload,
            },
          };
        }
      }
    }
  }
}

export interface ResponderOptions {
  /** The info hash whose HASH('req2', info hash) is `req2`, or undefined if we have none. */
  lookup(req2: Uint8Array): Uint8Array | undefined;
  /** Methods we accept (bitmask); RC4 is chosen whenever both sides allow it. */
  accept: number;
  random?: RandomSource;
}

/** The side that accepted the connection (B): feed it every byte from the first one on. */
export class MseResponder {
  private state: 'ya' | 'sync' | 'skey' | 'vc' | 'pad-c' | 'ia' | 'done' = 'ya';
  private readonly inbox = new Inbox();
  private readonly random: RandomSource;
  private secret: Buffer | undefined;
  private marker: Uint8Array = new Uint8Array(0);
  private infoHash: Uint8Array | undefined;
  private encrypt: Rc4 | undefined;
  private decrypt: Rc4 | undefined;
  private provide = 0;
  private padLength = 0;
  private iaLength = 0;

  constructor(private readonly opts: ResponderOptions) {
    this.random = opts.random ?? randomBytes;
  }

  receive(chunk: Uint8Array): MseStep {
    this.inbox.push(chunk);
    const send: Uint8Array[] = [];
    for (;;) {
      switch (this.state) {
        case 'done':
          throw new Error('MseResponder.receive after the handshake');
        case 'ya': {
          if (this.inbox.length < DH_LENGTH) return { send };
          const keys = dhKeyPair(this.random(PRIVATE_KEY_BYTES));
          this.secret = dhSecret(keys, this.inbox.take(DH_LENGTH));
          if (this.secret === undefined) throw mseError('bad-key', 'the peer sent a degenerate Diffie-Hellman key');
          send.push(keys.publicKey, padding(this.random));
          this.marker = sha1('req1', this.secret);
          this.state = 'sync';
          break;
        }
        case 'sync': {
          const at = this.inbox.find(this.marker, MAX_PAD);
          if (at < 0) {
            if (this.inbox.length >= MAX_PAD + HASH_LENGTH) throw mseError('no-sync', "no HASH('req1', S) within 512 bytes of padding");
            return { send };
          }
          this.inbox.take(at + HASH_LENGTH);
          this.state = 'skey';
          break;
        }
        case 'skey': {
          if (this.inbox.length < HASH_LENGTH) return { send };
          const secret = this.secret!;
          const infoHash = this.opts.lookup(xor(this.inbox.take(HASH_LENGTH), sha1('req3', secret)));
          if (infoHash === undefined) throw mseError('unknown-torrent', 'the peer asked for a torrent we do not have');
          this.infoHash = infoHash;
          this.decrypt = cipher('keyA', secret, infoHash);
          this.encrypt = cipher('keyB', secret, infoHash);
          this.state = 'vc';
          break;
        }
        case 'vc': {
          if (this.inbox.length < VC_LENGTH + 6) return { send };
          const head = this.inbox.take(VC_LENGTH + 6);
          this.decrypt!.process(head);
          for (let i = 0; i < VC_LENGTH; i++) if (head[i] !== 0) throw mseError('bad-vc', 'the verification constant is not zero');
          this.provide = head.readUInt32BE(VC_LENGTH);
          this.padLength = head.readUInt16BE(VC_LENGTH + 4);
          if (this.padLength > MAX_PAD) throw mseError('bad-length', `PadC of ${this.padLength} bytes`);
          this.state = 'pad-c';
          break;
        }
        case 'pad-c': {
          if (this.inbox.length < this.padLength + 2) return { send };
          const bytes = this.inbox.take(this.padLength + 2);
          this.decrypt!.process(bytes);
          this.iaLength = bytes.readUInt16BE(this.padLength);
          this.state = 'ia';
          break;
        }
        case 'ia': {
          if (this.inbox.length < this.iaLength) return { send };
          const ia = this.inbox.take(this.iaLength);
          this.decrypt!.process(ia);
          const both = this.provide & this.opts.accept;
          const select = (both & CRYPTO_RC4) !== 0 ? CRYPTO_RC4 : (both & CRYPTO_PLAINTEXT) !== 0 ? CRYPTO_PLAINTEXT : 0;
          if (select === 0) throw mseError('no-common-method', `the peer provided crypto methods ${this.provide}, we accept ${this.opts.accept}`);
          const reply = Buffer.alloc(VC_LENGTH + 6);
          reply.writeUInt32BE(select, VC_LENGTH);
          send.push(this.encrypt!.processCopy(reply));
          this.state = 'done';
          const rc4 = select === CRYPTO_RC4;
          const rest = this.inbox.rest();
          if (rc4) this.decrypt!.process(rest);
          return {
            send,
            done: {
              method: methodOf(select),
              encrypt: rc4 ? this.encrypt!.handOver() : undefined,
              decrypt: rc4 ? this.decrypt!.handOver() : undefined,
              infoHash: this.infoHash!,
              payload: ia.length === 0 ? rest : Buffer.concat([ia, rest]),
            },
          };
        }
      }
    }
  }
}
