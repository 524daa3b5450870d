import { describe, expect, it } from 'vitest';
import { encode } from '../codec/encode.js';
import { NOTAG } from '../codec/constants.js';
import { ChannelError } from './errors.js';
import { FrameReader, SCATTER_MAX_PIECES, SCATTER_MIN } from './framer.js';

function frames(): Uint8Array[] {
  return [
    encode({ type: 'Tversion', tag: NOTAG, msize: 8192, version: '9P2000.L' }, '9P2000.L'),
    encode({ type: 'Tclunk', tag: 1, fid: 7 }, '9P2000.L'),
    encode({ type: 'Twrite', tag: 2, fid: 1, offset: 0n, data: new Uint8Array(300).fill(9) }, '9P2000.L'),
  ];
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

describe('FrameReader', () => {
  it('hands a frame inside one chunk on as a view, without copying', () => {
    const all = concat(frames());
    const out: Uint8Array[] = [];
    new FrameReader(8192).push(all, (f) => void out.push(f));
    expect(out.map((f) => f.length)).toEqual(frames().map((f) => f.length));
    for (const f of out) expect(f.buffer).toBe(all.buffer);
  });

  it('reassembles frames from every split point and from single bytes', () => {
    const want = frames();
    const all = concat(want);
    for (let cut = 0; cut <= all.length; cut++) {
      const r = new FrameReader(8192);
      const out: Uint8Array[] = [];
      r.push(all.subarray(0, cut), (f) => void out.push(Uint8Array.from(f)));
      r.push(all.subarray(cut), (f) => void out.push(Uint8Array.from(f)));
      expect(out).toEqual(want);
      expect(r.pending).toBe(0);
    }
    const r = new FrameReader(8192);
    const out: Uint8Array[] = [];
    for (const b of all) r.push(Uint8Array.of(b), (f) => void out.push(f));
    expect(out).toEqual(want);
  });

  it('refuses a size over msize before allocating, and one under a header', () => {
    const big = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0, 0, 0);
    expect(() => new FrameReader(8192).push(big, () => {})).toThrow(ChannelError);
    try {
      new FrameReader(8192).push(big, () => {});
    } catch (e) {
      expect((e as ChannelError).reason).toBe('frame-too-large');
    }
    const r = new FrameReader(8192);
    r.push(Uint8Array.of(1, 0), () => {});
    expect(() => r.push(Uint8Array.of(0, 0), () => {})).toThrow(/shorter than a 7-byte header/);
  });
});

describe('FrameReader with scatter (Twrite)', () => {
  const TWRITE = 118;
  const payload = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + (i >> 8)) & 0xff);
  const twrite = (n: number, offset = 5n): Uint8Array => encode({ type: 'Twrite', tag: 3, fid: 1, offset, data: payload(n) }, '9P2000.L');
  /** Cuts `b` at `cuts` (sorted offsets) into copies with buffers of their own, as a socket hands them. */
  const cut = (b: Uint8Array, cuts: number[]): Uint8Array[] => [0, ...cuts, b.length].slice(1).map((end, i, ends) => Uint8Array.from(b.subarray(i === 0 ? 0 : ends[i - 1], end)));
  const join = (ps: readonly Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(ps));

  it('hands a split Twrite on as its 23-byte head and views of the chunks it arrived in, byte-exact', () => {
    const f = twrite(200_000);
    const chunks = cut(f, [100, 65_536, 65_537, 131_072, 150_000]);
    const r = new FrameReader(1 << 20, { scatter: TWRITE });
    const got: { head: Uint8Array; rest?: readonly Uint8Array[] }[] = [];
    for (const c of chunks) r.push(c, (head, rest) => void got.push({ head, rest }));
    expect(got).toHaveLength(1);
    const { head, rest } = got[0]!;
    expect(head.length).toBe(23);
    expect(head.buffer).toBe(chunks[0]!.buffer);
    expect(rest).toBeDefined();
    expect(rest!.map((p) => p.length)).toEqual([100 - 23, 65_436, 1, 65_535, 18_928, f.length - 150_000]);
    rest!.forEach((p, i) => expect(p.buffer).toBe(chunks[i]!.buffer)); // views, not copies
    expect(Buffer.compare(join([head, ...rest!]), f)).toBe(0);
    expect(r.pending).toBe(0);
  });

  it('counts a scattered frame in pending, and goes on with the next frame in the same chunk', () => {
    const f = twrite(40_000);
    const next = encode({ type: 'Tclunk', tag: 4, fid: 1 }, '9P2000.L');
    const r = new FrameReader(1 << 20, { scatter: TWRITE });
    const got: Uint8Array[][] = [];
    r.push(f.subarray(0, 30_000), (h, rest) => void got.push([h, ...(rest ?? [])]));
    expect(r.pending).toBe(30_000);
    r.push(join([f.subarray(30_000), next]), (h, rest) => void got.push([h, ...(rest ?? [])]));
    expect(got.map((g) => Buffer.compare(join(g), g === got[0] ? f : next))).toEqual([0, 0]);
    expect(got[1]).toHaveLength(1); // the Tclunk whole, as a plain frame
  });

  it('copies into one buffer once a frame would take more than SCATTER_MAX_PIECES pieces (a peer trickling bytes)', () => {
    const f = twrite(20_000);
    const cuts = Array.from({ length: 300 }, (_, i) => 100 + i * 3);
    const r = new FrameReader(1 << 20, { scatter: TWRITE });
    const got: { frame: Uint8Array; rest?: readonly Uint8Array[] }[] = [];
    for (const c of cut(f, cuts)) r.push(c, (frame, rest) => void got.push({ frame, rest }));
    expect(got).toHaveLength(1);
    expect(got[0]!.rest).toBeUndefined();
    expect(Buffer.compare(got[0]!.frame, f)).toBe(0);
    expect(SCATTER_MAX_PIECES).toBeLessThan(300);
  });

  it('copies as before: another type, a frame under SCATTER_MIN, a head split across chunks, no scatter asked', () => {
    const rread = encode({ type: 'Rread', tag: 3, data: payload(50_000) }, '9P2000.L');
    const small = twrite(SCATTER_MIN - 100);
    const big = twrite(50_000);
    const cases: [Uint8Array, number[], number | undefined][] = [
      [rread, [1000], TWRITE],
      [small, [1000], TWRITE],
      [big, [22], TWRITE], // only 22 bytes of the head in the first chunk
      [big, [3], TWRITE], // size[4] itself split
      [big, [1000], undefined],
    ];
    for (const [f, cuts, scatter] of cases) {
      const r = new FrameReader(1 << 20, { scatter });
      const got: { frame: Uint8Array; rest?: readonly Uint8Array[] }[] = [];
      for (const c of cut(f, cuts)) r.push(c, (frame, rest) => void got.push({ frame, rest }));
      expect(got).toHaveLength(1);
      expect(got[0]!.rest).toBeUndefined();
      expect(Buffer.compare(got[0]!.frame, f)).toBe(0);
    }
  });
});
