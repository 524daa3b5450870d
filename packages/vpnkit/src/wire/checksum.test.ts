import { describe, expect, it } from 'vitest';
import { Ipv4Address, Ipv6Address } from './address.js';
import { hexToBytes } from './bytes.js';
import {
  checksumFinish,
  checksumUpdate16,
  checksumUpdate32,
  checksumUpdateBytes,
  checksumVerifies,
  internetChecksum,
  ipv4PseudoHeaderSum,
  ipv6PseudoHeaderSum,
  onesFold,
  onesSum,
  pseudoHeaderSum,
} from './checksum.js';
import { WireError } from './error.js';

/** Straightforward reference: sum 16-bit words, fold after each add. */
function referenceChecksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) {
    sum += ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  return ~sum & 0xffff;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(r: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

// The classic example header (Wikipedia "IPv4 header checksum").
const CLASSIC_IPV4 = hexToBytes(
  '45 00 00 73', // version 4, IHL 5, TOS 0, total length 115
  '00 00 40 00', // ident 0, flags DF, offset 0
  '40 11 b8 61', // TTL 64, protocol UDP, checksum 0xb861
  'c0 a8 00 01', // src 192.168.0.1
  'c0 a8 00 c7', // dst 192.168.0.199
);

describe('RFC 1071 checksum', () => {
  it('matches the RFC 1071 §3 numerical example', () => {
    // "byte-by-byte ... 00 01 f2 03 f4 f5 f6 f7": sum ddf2, checksum 220d.
    const b = hexToBytes('00 01 f2 03 f4 f5 f6 f7');
    expect(onesFold(onesSum(b))).toBe(0xddf2);
    expect(internetChecksum(b)).toBe(0x220d);
  });

  it('computes the classic IPv4 header checksum 0xb861', () => {
    const h = CLASSIC_IPV4.slice();
    h[10] = 0;
    h[11] = 0;
    expect(internetChecksum(h)).toBe(0xb861);
    expect(checksumVerifies(onesSum(CLASSIC_IPV4))).toBe(true);
  });

  it('pads an odd final byte with zero', () => {
    expect(onesSum(Uint8Array.of(0x01))).toBe(0x0100);
    expect(onesSum(Uint8Array.of(0x12, 0x34, 0x56))).toBe(0x1234 + 0x5600);
    expect(internetChecksum(new Uint8Array(0))).toBe(0xffff);
  });

  it('agrees with a reference implementation for every length 0..130', () => {
    const r = rng(1);
    for (let n = 0; n <= 130; n++) {
      const b = randomBytes(r, n);
      expect(internetChecksum(b)).toBe(referenceChecksum(b));
      // and on a sub-range with odd start
      if (n > 3) expect(internetChecksum(b, 1, n - 1)).toBe(referenceChecksum(b.subarray(1, n - 1)));
    }
  });

  it('sums incrementally over several even ranges', () => {
    const r = rng(2);
    const a = randomBytes(r, 12);
    const b = randomBytes(r, 57);
    const joined = new Uint8Array(69);
    joined.set(a);
    joined.set(b, 12);
    expect(checksumFinish(onesSum(b, 0, b.length, onesSum(a)))).toBe(internetChecksum(joined));
  });

  it('clamps out-of-range bounds instead of throwing', () => {
    const b = Uint8Array.of(1, 2, 3, 4);
    expect(onesSum(b, -5, 100)).toBe(onesSum(b));
    expect(onesSum(b, 3, 1)).toBe(0);
  });

  it('handles large buffers (deferred carries do not lose precision)', () => {
    const b = new Uint8Array(70000).fill(0xff);
    expect(internetChecksum(b)).toBe(referenceChecksum(b));
  });
});

describe('pseudo-headers', () => {
  it('IPv4 pseudo-header sum equals the sum of the explicit 12-byte header (RFC 768)', () => {
    const src = Ipv4Address.parse('192.168.65.2');
    const dst = Ipv4Address.parse('192.168.65.1');
    const ph = hexToBytes('c0a84102', 'c0a84101', '00', '06', '0028');
    expect(onesFold(ipv4PseudoHeaderSum(src, dst, 6, 40))).toBe(onesFold(onesSum(ph)));
    expect(pseudoHeaderSum(src, dst, 6, 40)).toBe(ipv4PseudoHeaderSum(src, dst, 6, 40));
  });

  it('IPv6 pseudo-header sum equals the sum of the explicit 40-byte header (RFC 8200 §8.1)', () => {
    const src = Ipv6Address.parse('fd00::2');
    const dst = Ipv6Address.parse('2001:db8::1');
    const ph = new Uint8Array(40);
    ph.set(src, 0);
    ph.set(dst, 16);
    ph.set(hexToBytes('00 01 00 02'), 32); // upper-layer length 65538 (jumbo-sized, 32-bit)
    ph[39] = 58; // next header
    expect(onesFold(ipv6PseudoHeaderSum(src, dst, 58, 65538))).toBe(onesFold(onesSum(ph)));
    expect(pseudoHeaderSum(src, dst, 58, 65538)).toBe(ipv6PseudoHeaderSum(src, dst, 58, 65538));
  });

  it('rejects mixed address families with a WireError', () => {
    expect(() => pseudoHeaderSum(1, new Uint8Array(16), 6, 20)).toThrow(WireError);
  });
});

describe('RFC 1624 incremental update', () => {
  it('reproduces the RFC 1624 §4 example (result 0x0000, not 0xffff)', () => {
    // HC = 0xdd2f, m = 0x5555 -> m' = 0x3285 gives HC' = 0x0000.
    expect(checksumUpdate16(0xdd2f, 0x5555, 0x3285)).toBe(0x0000);
  });

  it('matches a full recomputation after rewriting the source address (NAT)', () => {
    const r = rng(3);
    for (let i = 0; i < 2000; i++) {
      const h = CLASSIC_IPV4.slice();
      h.set(randomBytes(r, 8), 12); // random src/dst
      h[4] = Math.floor(r() * 256);
      h[10] = 0;
      h[11] = 0;
      const c = internetChecksum(h);
      const oldSrc = Ipv4Address.fromBytes(h, 12);
      const newSrc = (r() * 0x100000000) >>> 0;
      h.set(Ipv4Address.toBytes(newSrc), 12);
      expect(checksumUpdate32(c, oldSrc, newSrc)).toBe(internetChecksum(h));
      // and 16-bit field updates (e.g. a port) agree too
      const oldW = (h[4]! << 8) | h[5]!;
      const newW = Math.floor(r() * 0x10000);
      const c2 = internetChecksum(h);
      h[4] = newW >> 8;
      h[5] = newW & 0xff;
      expect(checksumUpdate16(c2, oldW, newW)).toBe(internetChecksum(h));
    }
  });

  it('updates over a byte field (IPv6 address rewrite)', () => {
    const r = rng(4);
    for (let i = 0; i < 500; i++) {
      const b = randomBytes(r, 64);
      const c = internetChecksum(b);
      const old = b.slice(8, 24);
      const neu = randomBytes(r, 16);
      b.set(neu, 8);
      expect(checksumUpdateBytes(c, old, neu)).toBe(internetChecksum(b));
    }
  });
});
