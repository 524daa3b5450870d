import { describe, expect, it } from 'vitest';
import { encode } from '../codec/encode.js';
import { NOTAG } from '../codec/constants.js';
import { ChannelError } from './errors.js';
import { FrameReader } from './framer.js';

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
