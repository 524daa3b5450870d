import { describe, expect, it } from 'vitest';
import { seededRandom } from '../tcp/isn.js';
import { Ipv4Reassembler, type FragmentInput } from './reassembly.js';

function fragments(data: Uint8Array, size: number, ident = 7): FragmentInput[] {
  const out: FragmentInput[] = [];
  for (let off = 0; off < data.length; off += size) {
    const end = Math.min(data.length, off + size);
    out.push({ src: 1, dst: 2, protocol: 17, ident, fragOffset: off, moreFrags: end < data.length, payload: data.subarray(off, end) });
  }
  return out;
}

const data = new Uint8Array(4000).map((_, i) => (i * 13) & 255);

describe('Ipv4Reassembler', () => {
  it('reassembles in order, in reverse and shuffled, ignoring exact duplicates', () => {
    const rnd = seededRandom(3);
    for (const order of ['in', 'reverse', 'shuffle']) {
      const r = new Ipv4Reassembler();
      let frags = fragments(data, 1480);
      if (order === 'reverse') frags = frags.reverse();
      if (order === 'shuffle') frags = [frags[1] as FragmentInput, ...[...frags].sort(() => (rnd() & 1 ? 1 : -1))];
      let out: Uint8Array | undefined;
      for (const f of frags) out = r.input(0, f) ?? out;
      expect(out).toEqual(data);
      expect(r.stats()).toMatchObject({ pending: 0, bufferedBytes: 0, completed: 1 });
    }
  });

  it('drops a datagram with overlapping fragments (no teardrop games)', () => {
    const r = new Ipv4Reassembler();
    const [a, b] = fragments(data, 1480);
    expect(r.input(0, a as FragmentInput)).toBeUndefined();
    expect(r.input(0, { ...(b as FragmentInput), fragOffset: 1472 })).toBeUndefined();
    expect(r.stats()).toMatchObject({ pending: 0, bufferedBytes: 0, dropped: 1 });
  });

  it('refuses data past the known end, past 65535, and non-multiple-of-8 middles', () => {
    const r = new Ipv4Reassembler();
    const base = { src: 1, dst: 2, protocol: 17, ident: 1 };
    expect(r.input(0, { ...base, fragOffset: 8, moreFrags: false, payload: new Uint8Array(8) })).toBeUndefined();
    expect(r.input(0, { ...base, fragOffset: 64, moreFrags: true, payload: new Uint8Array(8) })).toBeUndefined();
    expect(r.stats().dropped).toBe(1);
    expect(r.input(0, { ...base, ident: 2, fragOffset: 65528, moreFrags: false, payload: new Uint8Array(16) })).toBeUndefined();
    expect(r.input(0, { ...base, ident: 3, fragOffset: 0, moreFrags: true, payload: new Uint8Array(12) })).toBeUndefined();
    expect(r.stats()).toMatchObject({ pending: 0, bufferedBytes: 0, dropped: 3 });
  });

  it('times out incomplete datagrams and bounds the table and the bytes', () => {
    const r = new Ipv4Reassembler({ maxDatagrams: 4, maxBytes: 8 * 1480, timeoutMs: 1000 });
    for (let id = 0; id < 10; id++) r.input(0, fragments(data, 1480, id)[0] as FragmentInput);
    expect(r.stats().pending).toBe(4);
    expect(r.stats().bufferedBytes).toBe(4 * 1480);
    expect(r.pollAt()).toBe(1000);
    r.expire(1000);
    expect(r.stats()).toMatchObject({ pending: 0, bufferedBytes: 0, timedOut: 4 });
    // Byte bound: 3 big partials of 4 * 1480 would exceed 8 * 1480.
    const big = new Uint8Array(20000);
    for (let id = 0; id < 3; id++) for (const f of fragments(big, 1480, 100 + id).slice(0, 4)) r.input(2000, f);
    expect(r.stats().bufferedBytes).toBeLessThanOrEqual(8 * 1480);
  });

  it('survives 100,000 random fragments with bounded memory', () => {
    const rnd = seededRandom(11);
    const r = new Ipv4Reassembler();
    for (let i = 0; i < 100_000; i++) {
      const len = (rnd() % 200) * 8;
      r.input(i, {
        src: rnd() % 4,
        dst: 2,
        protocol: 17,
        ident: rnd() % 16,
        fragOffset: (rnd() % 9000) * 8,
        moreFrags: (rnd() & 3) !== 0,
        payload: new Uint8Array(len + (rnd() % 3 === 0 ? rnd() % 8 : 0)),
      });
      expect(r.stats().bufferedBytes).toBeLessThanOrEqual(1 << 20);
    }
    expect(r.stats().pending).toBeLessThanOrEqual(64);
  }, 60_000);
});

describe('IPv6 fragments (RFC 8200 §4.5)', () => {
  const a = Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? 0xfd : i));
  const b = Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? 0xfd : 100 + i));
  const v6 = (src: Uint8Array, dst: Uint8Array, f: FragmentInput): FragmentInput => ({ ...f, src, dst });

  it('keys by source, destination and Identification: packets with the same ident from others do not mix', () => {
    const r = new Ipv4Reassembler();
    const [f0, f1, f2] = fragments(data, 1448, 0x89abcdef);
    expect(r.input(0, v6(a, b, f0!))).toBeUndefined();
    expect(r.input(0, v6(b, a, f1!))).toBeUndefined(); // the other direction: another packet
    expect(r.input(0, { ...f1!, protocol: 17 })).toBeUndefined(); // IPv4, same numbers: another packet
    expect(r.input(0, v6(a, b, f1!))).toBeUndefined();
    // The Next Header is not part of the identity (it may differ between fragments).
    expect(r.input(0, v6(a, b, { ...f2!, protocol: 6 }))).toEqual(data);
    expect(r.stats().pending).toBe(2);
  });

  it('refuses a packet that would exceed 65535 bytes once reassembled', () => {
    const r = new Ipv4Reassembler();
    const last: FragmentInput = { src: a, dst: b, protocol: 17, ident: 1, fragOffset: 65528, moreFrags: false, payload: new Uint8Array(16), maxLen: 0xffff - 8 };
    expect(r.input(0, last)).toBeUndefined();
    expect(r.stats()).toMatchObject({ pending: 0, dropped: 1 });
  });
});
