import assert from 'node:assert/strict';
import { createDiffieHellman } from 'node:crypto';
import { describe, it } from 'node:test';
import { bigIntToBytes, DH_PRIME, dhKeyPair, dhSecret } from '../../src/mse/dh.js';
import { Rc4 } from '../../src/mse/index.js';

describe('RC4', () => {
  // The classic published vectors (key, plaintext, ciphertext).
  const vectors: [string, string, string][] = [
    ['Key', 'Plaintext', 'bbf316e8d940af0ad3'],
    ['Wiki', 'pedia', '1021bf0420'],
    ['Secret', 'Attack at dawn', '45a01f645fc35b383552544b9bf5'],
  ];
  for (const [key, plain, cipher] of vectors) {
    it(`encrypts '${plain}' with key '${key}'`, () => {
      const buf = Buffer.from(plain);
      new Rc4(Buffer.from(key)).process(buf);
      assert.equal(buf.toString('hex'), cipher);
    });
  }

  it('gives the same stream whatever the chunking, and processCopy leaves its input alone', () => {
    const key = Buffer.from('chunking');
    const data = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff));
    const whole = Buffer.from(data);
    new Rc4(key).process(whole);
    const pieces = new Rc4(key);
    const parts: Buffer[] = [];
    for (let at = 0, n = 1; at < data.length; at += n, n = (n * 3) % 500 + 1) parts.push(pieces.processCopy(data.subarray(at, at + n)));
    assert.deepEqual(Buffer.concat(parts), whole);
    assert.equal(data[1], 7, 'input untouched');
  });

  it('discard and clone move and fork the keystream', () => {
    const a = new Rc4(Buffer.from('k'));
    const b = new Rc4(Buffer.from('k'));
    a.discard(1024);
    b.process(new Uint8Array(1024));
    const fork = a.clone();
    assert.deepEqual(a.processCopy(new Uint8Array(16)), b.processCopy(new Uint8Array(16)));
    assert.deepEqual(fork.processCopy(new Uint8Array(16)), new Rc4(Buffer.from('k')).processCopy(new Uint8Array(1040)).subarray(1024));
  });

  it('rejects an empty key', () => {
    assert.throws(() => new Rc4(new Uint8Array(0)), RangeError);
  });
});

describe('MSE Diffie-Hellman', () => {
  it('computes the same public key as OpenSSL for the same private key', () => {
    const priv = Buffer.from('0123456789abcdef0123456789abcdef01234567', 'hex');
    const ours = dhKeyPair(priv);
    const openssl = createDiffieHellman(bigIntToBytes(DH_PRIME), 2);
    openssl.setPrivateKey(priv);
    openssl.generateKeys();
    assert.equal(ours.publicKey.toString('hex'), openssl.getPublicKey().toString('hex').padStart(192, '0'));
    assert.equal(ours.publicKey.length, 96);
  });

  it('both sides derive one secret', () => {
    const a = dhKeyPair(Buffer.alloc(20, 0xa5));
    const b = dhKeyPair(Buffer.alloc(20, 0x5a));
    assert.deepEqual(dhSecret(a, b.publicKey), dhSecret(b, a.publicKey));
  });

  it('refuses degenerate public values that would force a known secret', () => {
    const a = dhKeyPair(Buffer.alloc(20, 1));
    for (const y of [0n, 1n, DH_PRIME - 1n, DH_PRIME, (1n << 768n) - 1n]) assert.equal(dhSecret(a, bigIntToBytes(y)), undefined, `y = ${y}`);
  });
});
