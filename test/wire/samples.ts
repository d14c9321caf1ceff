/**
 * One sample of every wire message with its BEP 3 bytes written out by hand (length prefix,
 * id, payload), shared by the codec and framer tests. Byte fields are Buffers so decoded
 * views compare equal with deepStrictEqual.
 */
import type { Message } from '../../src/wire/index.js';

export interface Sample {
  readonly msg: Message;
  readonly hex: string;
}

export const SAMPLES: readonly Sample[] = [
  { msg: { type: 'keep-alive' }, hex: '00000000' },
  { msg: { type: 'choke' }, hex: '00000001 00' },
  { msg: { type: 'unchoke' }, hex: '00000001 01' },
  { msg: { type: 'interested' }, hex: '00000001 02' },
  { msg: { type: 'not-interested' }, hex: '00000001 03' },
  { msg: { type: 'have', index: 0x01020304 }, hex: '00000005 04 01020304' },
  { msg: { type: 'bitfield', bytes: Buffer.from([0xff, 0x80]) }, hex: '00000003 05 ff80' },
  { msg: { type: 'request', index: 1, begin: 0x4000, length: 0x4000 }, hex: '0000000d 06 00000001 00004000 00004000' },
  { msg: { type: 'piece', index: 2, begin: 0x4000, block: Buffer.from('abc') }, hex: '0000000c 07 00000002 00004000 616263' },
  { msg: { type: 'cancel', index: 1, begin: 0x4000, length: 0x4000 }, hex: '0000000d 08 00000001 00004000 00004000' },
  { msg: { type: 'port', port: 6881 }, hex: '00000003 09 1ae1' },
  { msg: { type: 'suggest', index: 7 }, hex: '00000005 0d 00000007' },
  { msg: { type: 'have-all' }, hex: '00000001 0e' },
  { msg: { type: 'have-none' }, hex: '00000001 0f' },
  { msg: { type: 'reject', index: 0xffffffff, begin: 0, length: 0x4000 }, hex: '0000000d 10 ffffffff 00000000 00004000' },
  { msg: { type: 'allowed-fast', index: 0xfffffffe }, hex: '00000005 11 fffffffe' },
  { msg: { type: 'extended', id: 0, payload: Buffer.from('de') }, hex: '00000004 14 00 6465' },
  { msg: { type: 'extended', id: 3, payload: Buffer.alloc(0) }, hex: '00000002 14 03' },
];

export function bytesOf(sample: Sample): Buffer {
  return Buffer.from(sample.hex.replace(/ /g, ''), 'hex');
}
