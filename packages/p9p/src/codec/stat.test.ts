// Classic stat structures: the entries of Rstat/Twstat and of directory reads.
import { describe, expect, it } from 'vitest';
import { ProtocolError } from './errors.js';
import { fromHex as hex, toHex } from './hex.js';
import { decodeStat, decodeStats, dontTouchStat, encodeStat, encodeStatInto, splitStats, statLength } from './stat.js';
import type { Stat } from './types.js';

const USR: Stat = {
  type: 0,
  dev: 0,
  qid: { type: 0x80, version: 0, path: 1n },
  mode: 0x800001ed,
  atime: 1700000000,
  mtime: 1700000001,
  length: 0n,
  name: 'usr',
  uid: 'glenda',
  gid: 'sys',
  muid: 'glenda',
};
const USR_BYTES = hex(
  '4100', //                          size[2]=65
  '0000', //                          type[2]=0
  '00000000', //                      dev[4]=0
  '80', '00000000', '0100000000000000', // qid[13]: QTDIR, version 0, path 1
  'ed010080', //                      mode[4]=DMDIR|0755
  '00f15365', //                      atime[4]=1700000000
  '01f15365', //                      mtime[4]=1700000001
  '0000000000000000', //              length[8]=0
  '0300', '757372', //                name[s]="usr"
  '0600', '676c656e6461', //          uid[s]="glenda"
  '0300', '737973', //                gid[s]="sys"
  '0600', '676c656e6461', //          muid[s]="glenda"
);

const A: Stat = {
  type: 0x4d,
  dev: 1,
  qid: { type: 0, version: 3, path: 0x22n },
  mode: 0o644,
  atime: 1,
  mtime: 2,
  length: 1024n,
  name: 'a',
  uid: 'u',
  gid: 'g',
  muid: '',
};
const A_BYTES = hex(
  '3200', //                          size[2]=50
  '4d00', //                          type[2]='M'
  '01000000', //                      dev[4]=1
  '00', '03000000', '2200000000000000', // qid[13]: QTFILE, version 3, path 0x22
  'a4010000', //                      mode[4]=0644
  '01000000', //                      atime[4]=1
  '02000000', //                      mtime[4]=2
  '0004000000000000', //              length[8]=1024
  '0100', '61', //                    name[s]="a"
  '0100', '75', //                    uid[s]="u"
  '0100', '67', //                    gid[s]="g"
  '0000', //                          muid[s]=""
);
const DIR = hex(toHex(USR_BYTES), toHex(A_BYTES));

function reason(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ProtocolError) return e.reason;
    throw e;
  }
  return 'none';
}

describe('stat', () => {
  it('encodes and decodes one 9P2000 stat', () => {
    expect(toHex(encodeStat(USR, '9P2000'))).toBe(toHex(USR_BYTES));
    expect(statLength(USR, '9P2000')).toBe(67);
    expect(decodeStat(USR_BYTES, '9P2000')).toEqual(USR);
  });

  it('writes a stat into a buffer at an offset', () => {
    const buf = new Uint8Array(80).fill(0xee);
    expect(encodeStatInto(A, '9P2000', buf, 7)).toBe(52);
    expect(toHex(buf.subarray(7, 59))).toBe(toHex(A_BYTES));
    expect(buf[6]).toBe(0xee);
    expect(buf[59]).toBe(0xee);
    expect(() => encodeStatInto(A, '9P2000', buf, 29)).toThrow(/do not fit/);
  });

  it('decodes and splits the data of a directory read', () => {
    expect(decodeStats(DIR, '9P2000')).toEqual([USR, A]);
    const parts = splitStats(DIR);
    expect(parts.map((p) => p.length)).toEqual([67, 52]);
    expect(parts[1]!.buffer).toBe(DIR.buffer);
    expect(decodeStat(parts[1]!, '9P2000')).toEqual(A);
    expect(decodeStats(new Uint8Array(0), '9P2000')).toEqual([]);
  });

  it('refuses partial entries, leftovers and short sizes', () => {
    for (let k = 1; k < DIR.length; k++) {
      if (k === 67) continue; // a whole first entry
      expect(reason(() => decodeStats(DIR.subarray(0, k), '9P2000')), `prefix ${k}`).toBe('truncated');
      expect(reason(() => splitStats(DIR.subarray(0, k))), `prefix ${k}`).toBe('truncated');
    }
    expect(decodeStats(DIR.subarray(0, 67), '9P2000')).toEqual([USR]);
    expect(reason(() => decodeStat(hex(toHex(USR_BYTES), '00'), '9P2000'))).toBe('trailing-bytes');
    // size[2] claims one byte more than the fields use
    const long = hex('4200', toHex(USR_BYTES.subarray(2)), '00');
    expect(reason(() => decodeStat(long, '9P2000'))).toBe('bad-stat');
  });

  it('reads 9P2000 entries as too short for 9P2000.u', () => {
    expect(reason(() => decodeStats(DIR, '9P2000.u'))).toBe('truncated');
  });

  it('lays a stat out as 9P2000.u for 9P2000.L too, as Linux does', () => {
    const u: Stat = { ...A, extension: '', nUid: 1, nGid: 2, nMuid: 3 };
    expect(statLength(u, '9P2000.L')).toBe(52 + 2 + 12);
    expect(toHex(encodeStat(u, '9P2000.L'))).toBe(toHex(encodeStat(u, '9P2000.u')));
    expect(decodeStat(encodeStat(u, '9P2000.u'), '9P2000.L')).toEqual(u);
  });

  it('ignores the .u fields in 9P2000 and fills missing ones in 9P2000.u', () => {
    const u: Stat = { ...A, extension: 'x', nUid: 1, nGid: 2, nMuid: 3 };
    expect(toHex(encodeStat(u, '9P2000'))).toBe(toHex(A_BYTES));
    expect(decodeStat(encodeStat(A, '9P2000.u'), '9P2000.u')).toEqual({
      ...A,
      extension: '',
      nUid: 0xffffffff,
      nGid: 0xffffffff,
      nMuid: 0xffffffff,
    });
  });

  it('builds a "don\'t touch" stat for Twstat', () => {
    expect(toHex(encodeStat(dontTouchStat(), '9P2000'))).toBe(
      toHex(
        hex(
          '2f00', //                  size[2]=47
          'ffff', 'ffffffff', //      type[2], dev[4] = ~0
          'ff', 'ffffffff', 'ffffffffffffffff', // qid[13] = ~0
          'ffffffff', 'ffffffff', 'ffffffff', // mode, atime, mtime = ~0
          'ffffffffffffffff', //      length[8] = ~0
          '0000', '0000', '0000', '0000', // name, uid, gid, muid = ""
        ),
      ),
    );
    expect(toHex(encodeStat(dontTouchStat(), '9P2000.u'))).toMatch(/^3d00ffff.*0000ffffffffffffffffffffffff$/);
  });
});
