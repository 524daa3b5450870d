// 9P2000.L readdir entries: qid[13] offset[8] type[1] name[s]
import { describe, expect, it } from 'vitest';
import { decodeDirents, direntLength, encodeDirentInto, encodeDirents } from './dirent.js';
import { EncodeError, ProtocolError } from './errors.js';
import { fromHex as hex, toHex } from './hex.js';
import type { Dirent } from './types.js';

// The first two entries of the Rreaddir in diod's protocol.md sample session.
const DIOD = hex(
  '80', '00000000', 'ac1f2c0000000000', // qid[13]: QTDIR, version 0, path 0x2c1fac
  '0100000000000000', //                   offset[8]=1
  '04', //                                 type[1]=DT_DIR
  '0100', '2e', //                         name[s]="."
  '80', '00000000', 'ffff250000000000', // qid[13]: QTDIR, version 0, path 0x25ffff
  '2658ea0000000000', //                   offset[8]=0xea5826
  '04', //                                 type[1]=DT_DIR
  '0200', '2e2e', //                       name[s]=".."
);
const ENTRIES: Dirent[] = [
  { qid: { type: 0x80, version: 0, path: 0x2c1facn }, offset: 1n, type: 4, name: '.' },
  { qid: { type: 0x80, version: 0, path: 0x25ffffn }, offset: 0xea5826n, type: 4, name: '..' },
];

describe('dirent', () => {
  it("decodes diod's sample", () => {
    expect(decodeDirents(DIOD)).toEqual(ENTRIES);
    expect(decodeDirents(new Uint8Array(0))).toEqual([]);
  });

  it('encodes the same bytes', () => {
    expect(toHex(encodeDirents(ENTRIES))).toBe(toHex(DIOD));
    expect(ENTRIES.map(direntLength)).toEqual([25, 26]);
  });

  it('lets a server pack entries up to a count', () => {
    const buf = new Uint8Array(50);
    let p = 0;
    p += encodeDirentInto(ENTRIES[0]!, buf, p);
    expect(p).toBe(25);
    expect(direntLength(ENTRIES[1]!)).toBeGreaterThan(buf.length - p);
    expect(() => encodeDirentInto(ENTRIES[1]!, buf, p)).toThrow(EncodeError);
    expect(toHex(buf.subarray(0, p))).toBe(toHex(DIOD.subarray(0, 25)));
  });

  it('refuses partial entries', () => {
    for (let k = 1; k < DIOD.length; k++) {
      if (k === 25) {
        expect(decodeDirents(DIOD.subarray(0, k))).toEqual([ENTRIES[0]]);
        continue;
      }
      expect(() => decodeDirents(DIOD.subarray(0, k)), `prefix ${k}`).toThrow(ProtocolError);
    }
  });

  it('refuses a name that is not UTF-8 or holds a NUL', () => {
    const bad = hex(toHex(DIOD.subarray(0, 22)), '0100', 'ff');
    expect(() => decodeDirents(bad)).toThrow(/invalid UTF-8/);
    const nul = hex(toHex(DIOD.subarray(0, 22)), '0100', '00');
    expect(() => decodeDirents(nul)).toThrow(/NUL/);
  });
});
