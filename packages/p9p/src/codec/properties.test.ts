// Properties over random messages (seeded, so failures reproduce):
//  - decode(encode(m)) equals m, for every message of every dialect;
//  - random mutations of valid frames decode to a value or a ProtocolError,
//    never another exception; and what decodes re-encodes to the same bytes.
import { describe, expect, it } from 'vitest';
import { decode } from './decode.js';
import { encode, encodedLength } from './encode.js';
import { ProtocolError } from './errors.js';
import { toHex } from './hex.js';
import { FCALL_TYPES } from './table.js';
import type { Dialect, Fcall, FcallOf, FcallType, Qid, Stat } from './types.js';

/** mulberry32: a small seeded PRNG. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const edge = <T>(edges: T[], random: () => T): T => (next() < 0.3 ? edges[int(edges.length)]! : random());
  return {
    int,
    u8: () => edge([0, 0xff], () => int(0x100)),
    u16: () => edge([0, 0xffff], () => int(0x10000)),
    u32: () => edge([0, 0xffffffff, 0x80000000], () => int(0x100000000)),
    u64: () =>
      edge([0n, 0xffffffffffffffffn, 0x8000000000000000n], () => (BigInt(int(0x100000000)) << 32n) | BigInt(int(0x100000000))),
    str(): string {
      const pieces = ['a', 'Z', '0', '.', '/', ' ', '\u00e9', '\u20ac', '\u{1f4c1}', '\ufeff', '\u4e2d', '\u{10ffff}'];
      const len = next() < 0.1 ? 70 + int(30) : int(12); // sometimes past the 64-char fast path
      let s = '';
      for (let i = 0; i < len; i++) s += pieces[int(pieces.length)]!;
      return s;
    },
    bytes(): Uint8Array {
      const b = new Uint8Array(int(40));
      for (let i = 0; i < b.length; i++) b[i] = int(256);
      return b;
    },
    next,
  };
}
type Rng = ReturnType<typeof rng>;

const qid = (r: Rng): Qid => ({ type: r.u8(), version: r.u32(), path: r.u64() });

function stat(r: Rng, ext: boolean): Stat {
  const st: Stat = {
    type: r.u16(), dev: r.u32(), qid: qid(r), mode: r.u32(), atime: r.u32(), mtime: r.u32(), length: r.u64(),
    name: r.str(), uid: r.str(), gid: r.str(), muid: r.str(),
  };
  if (ext) Object.assign(st, { extension: r.str(), nUid: r.u32(), nGid: r.u32(), nMuid: r.u32() });
  return st;
}

type Gen = { [K in FcallType]: (r: Rng, d: Dialect) => Omit<FcallOf<K>, 'type' | 'tag'> };

/** A random body for each message, with the dialect's optional fields present. */
const gen: Gen = {
  Tversion: (r) => ({ msize: r.u32(), version: r.str() }),
  Rversion: (r) => ({ msize: r.u32(), version: r.str() }),
  Tauth: (r, d) => ({ afid: r.u32(), uname: r.str(), aname: r.str(), ...(d !== '9P2000' && { nUname: r.u32() }) }),
  Rauth: (r) => ({ aqid: qid(r) }),
  Tattach: (r, d) => ({
    fid: r.u32(), afid: r.u32(), uname: r.str(), aname: r.str(), ...(d !== '9P2000' && { nUname: r.u32() }),
  }),
  Rattach: (r) => ({ qid: qid(r) }),
  Rerror: (r, d) => ({ ename: r.str(), ...(d !== '9P2000' && { errno: r.u32() }) }),
  Tflush: (r) => ({ oldtag: r.u16() }),
  Rflush: () => ({}),
  Twalk: (r) => ({ fid: r.u32(), newfid: r.u32(), wnames: Array.from({ length: r.int(17) }, () => r.str()) }),
  Rwalk: (r) => ({ wqids: Array.from({ length: r.int(17) }, () => qid(r)) }),
  Topen: (r) => ({ fid: r.u32(), mode: r.u8() }),
  Ropen: (r) => ({ qid: qid(r), iounit: r.u32() }),
  Tcreate: (r, d) => ({
    fid: r.u32(), name: r.str(), perm: r.u32(), mode: r.u8(), ...(d !== '9P2000' && { extension: r.str() }),
  }),
  Rcreate: (r) => ({ qid: qid(r), iounit: r.u32() }),
  Tread: (r) => ({ fid: r.u32(), offset: r.u64(), count: r.u32() }),
  Rread: (r) => ({ data: r.bytes() }),
  Twrite: (r) => ({ fid: r.u32(), offset: r.u64(), data: r.bytes() }),
  Rwrite: (r) => ({ count: r.u32() }),
  Tclunk: (r) => ({ fid: r.u32() }),
  Rclunk: () => ({}),
  Tremove: (r) => ({ fid: r.u32() }),
  Rremove: () => ({}),
  Tstat: (r) => ({ fid: r.u32() }),
  Rstat: (r, d) => ({ stat: stat(r, d !== '9P2000') }),
  Twstat: (r, d) => ({ fid: r.u32(), stat: stat(r, d !== '9P2000') }),
  Rwstat: () => ({}),
  Rlerror: (r) => ({ ecode: r.u32() }),
  Tstatfs: (r) => ({ fid: r.u32() }),
  Rstatfs: (r) => ({
    fsType: r.u32(), bsize: r.u32(), blocks: r.u64(), bfree: r.u64(), bavail: r.u64(), files: r.u64(),
    ffree: r.u64(), fsid: r.u64(), namelen: r.u32(),
  }),
  Tlopen: (r) => ({ fid: r.u32(), flags: r.u32() }),
  Rlopen: (r) => ({ qid: qid(r), iounit: r.u32() }),
  Tlcreate: (r) => ({ fid: r.u32(), name: r.str(), flags: r.u32(), mode: r.u32(), gid: r.u32() }),
  Rlcreate: (r) => ({ qid: qid(r), iounit: r.u32() }),
  Tsymlink: (r) => ({ fid: r.u32(), name: r.str(), symtgt: r.str(), gid: r.u32() }),
  Rsymlink: (r) => ({ qid: qid(r) }),
  Tmknod: (r) => ({ dfid: r.u32(), name: r.str(), mode: r.u32(), major: r.u32(), minor: r.u32(), gid: r.u32() }),
  Rmknod: (r) => ({ qid: qid(r) }),
  Trename: (r) => ({ fid: r.u32(), dfid: r.u32(), name: r.str() }),
  Rrename: () => ({}),
  Treadlink: (r) => ({ fid: r.u32() }),
  Rreadlink: (r) => ({ target: r.str() }),
  Tgetattr: (r) => ({ fid: r.u32(), requestMask: r.u64() }),
  Rgetattr: (r) => ({
    valid: r.u64(), qid: qid(r), mode: r.u32(), uid: r.u32(), gid: r.u32(), nlink: r.u64(), rdev: r.u64(),
    size: r.u64(), blksize: r.u64(), blocks: r.u64(), atimeSec: r.u64(), atimeNsec: r.u64(), mtimeSec: r.u64(),
    mtimeNsec: r.u64(), ctimeSec: r.u64(), ctimeNsec: r.u64(), btimeSec: r.u64(), btimeNsec: r.u64(),
    gen: r.u64(), dataVersion: r.u64(),
  }),
  Tsetattr: (r) => ({
    fid: r.u32(), valid: r.u32(), mode: r.u32(), uid: r.u32(), gid: r.u32(), size: r.u64(),
    atimeSec: r.u64(), atimeNsec: r.u64(), mtimeSec: r.u64(), mtimeNsec: r.u64(),
  }),
  Rsetattr: () => ({}),
  Txattrwalk: (r) => ({ fid: r.u32(), newfid: r.u32(), name: r.str() }),
  Rxattrwalk: (r) => ({ size: r.u64() }),
  Txattrcreate: (r) => ({ fid: r.u32(), name: r.str(), attrSize: r.u64(), flags: r.u32() }),
  Rxattrcreate: () => ({}),
  Treaddir: (r) => ({ fid: r.u32(), offset: r.u64(), count: r.u32() }),
  Rreaddir: (r) => ({ data: r.bytes() }),
  Tfsync: (r) => ({ fid: r.u32(), datasync: r.u32() }),
  Rfsync: () => ({}),
  Tlock: (r) => ({
    fid: r.u32(), lockType: r.u8(), flags: r.u32(), start: r.u64(), length: r.u64(), procId: r.u32(), clientId: r.str(),
  }),
  Rlock: (r) => ({ status: r.u8() }),
  Tgetlock: (r) => ({
    fid: r.u32(), lockType: r.u8(), start: r.u64(), length: r.u64(), procId: r.u32(), clientId: r.str(),
  }),
  Rgetlock: (r) => ({ lockType: r.u8(), start: r.u64(), length: r.u64(), procId: r.u32(), clientId: r.str() }),
  Tlink: (r) => ({ dfid: r.u32(), fid: r.u32(), name: r.str() }),
  Rlink: () => ({}),
  Tmkdir: (r) => ({ dfid: r.u32(), name: r.str(), mode: r.u32(), gid: r.u32() }),
  Rmkdir: (r) => ({ qid: qid(r) }),
  Trenameat: (r) => ({ olddirfid: r.u32(), oldname: r.str(), newdirfid: r.u32(), newname: r.str() }),
  Rrenameat: () => ({}),
  Tunlinkat: (r) => ({ dirfd: r.u32(), name: r.str(), flags: r.u32() }),
  Runlinkat: () => ({}),
};

const DIALECTS: Dialect[] = ['9P2000', '9P2000.u', '9P2000.L'];

/** Whether `type` is a message of `d`, by asking the encoder. */
function inDialect(type: FcallType, d: Dialect): boolean {
  const r = rng(1);
  try {
    encodedLength({ type, tag: 0, ...gen[type](r, d) } as Fcall, d);
    return true;
  } catch {
    return false;
  }
}

function randomMessage(r: Rng, type: FcallType, d: Dialect): Fcall {
  return { type, tag: r.u16(), ...gen[type](r, d) } as Fcall;
}

describe('round trip', () => {
  it('knows which messages each dialect has', () => {
    const count = (d: Dialect) => FCALL_TYPES.filter((t) => inDialect(t, d)).length;
    // 9P2000: 13 T/R pairs + Rerror. 9P2000.L: 9 of those pairs + 19 pairs + Rlerror.
    expect(count('9P2000')).toBe(27);
    expect(count('9P2000.u')).toBe(27);
    expect(count('9P2000.L')).toBe(57);
  });

  for (const d of DIALECTS) {
    for (const type of FCALL_TYPES.filter((t) => inDialect(t, d))) {
      it(`${type} [${d}]: decode(encode(m)) equals m`, () => {
        const r = rng(type.length * 7919 + d.length);
        for (let i = 0; i < 30; i++) {
          const m = randomMessage(r, type, d);
          const frame = encode(m, d);
          expect(frame.length).toBe(encodedLength(m, d));
          expect(decode(frame, d, { maxSize: frame.length })).toEqual(m);
        }
      });
    }
  }
});

describe('mutation fuzzing', () => {
  it('10,000 mutated frames decode to a value or a ProtocolError, and what decodes is canonical', () => {
    const r = rng(0x9e3779b9);
    const seeds: [Uint8Array, Dialect][] = [];
    for (const d of DIALECTS) {
      for (const type of FCALL_TYPES.filter((t) => inDialect(t, d))) {
        for (let i = 0; i < 3; i++) seeds.push([encode(randomMessage(r, type, d), d), d]);
      }
    }

    let decoded = 0;
    const reasons = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const [seed, d] = seeds[r.int(seeds.length)]!;
      const frame = mutate(r, seed);
      // Usually keep size[4] true, so the mutation reaches the body's parser.
      if (r.next() < 0.85 && frame.length >= 4) new DataView(frame.buffer).setUint32(0, frame.length, true);
      // Decode as the seed's dialect, or as another one.
      const dialect = r.next() < 0.8 ? d : DIALECTS[r.int(3)]!;
      let msg: Fcall;
      try {
        msg = decode(frame, dialect, { maxSize: 8192 });
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw new Error(`frame ${toHex(frame)} [${dialect}] threw ${String(e)}`);
        expect(e.reason).not.toBe('internal');
        reasons.set(e.reason, (reasons.get(e.reason) ?? 0) + 1);
        continue;
      }
      decoded++;
      // Strict decoding means one encoding per value: re-encoding gives the same bytes.
      expect(toHex(encode(msg, dialect)), `frame ${toHex(frame)} [${dialect}]`).toBe(toHex(frame));
    }
    // The mutations must exercise both outcomes and most of the checks.
    expect(decoded).toBeGreaterThan(500);
    for (const reason of ['truncated', 'size-mismatch', 'unknown-type', 'trailing-bytes', 'bad-string']) {
      expect(reasons.get(reason) ?? 0, reason).toBeGreaterThan(0);
    }
  });
});

function mutate(r: Rng, seed: Uint8Array): Uint8Array {
  let f: Uint8Array = seed.slice();
  const edits = 1 + r.int(3);
  for (let e = 0; e < edits; e++) {
    const at = r.int(Math.max(f.length, 1));
    switch (r.int(6)) {
      case 0: // flip a bit
        if (f.length) f[at] = f[at]! ^ (1 << r.int(8));
        break;
      case 1: // overwrite a byte, often with a boundary value
        if (f.length) f[at] = [0, 0xff, 0x7f, 0x80, 0x10, 0x11][r.int(6)] ?? r.int(256);
        break;
      case 2: // truncate
        f = f.slice(0, at);
        break;
      case 3: // insert bytes
        f = concat(f.subarray(0, at), randomBytes(r, 1 + r.int(4)), f.subarray(at));
        break;
      case 4: // delete bytes
        f = concat(f.subarray(0, at), f.subarray(at + 1 + r.int(4)));
        break;
      default: // set the type byte
        if (f.length > 4) f[4] = r.int(256);
        break;
    }
  }
  return f;
}

function randomBytes(r: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = r.int(256);
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let p = 0;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}
