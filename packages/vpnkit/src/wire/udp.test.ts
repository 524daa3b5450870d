import { describe, expect, it } from 'vitest';
import { Ipv4Address, Ipv6Address } from './address.js';
import { bytesToHex, hexToBytes } from './bytes.js';
import { WireError } from './error.js';
import { UdpPacket, UdpRepr } from './udp.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof WireError) return e.code;
    throw e;
  }
  return 'OK';
}

const V4_SRC = Ipv4Address.parse('192.168.65.2');
const V4_DST = Ipv4Address.parse('192.168.65.1');
const V6_SRC = Ipv6Address.parse('fd00::2');
const V6_DST = Ipv6Address.parse('fd00::1');

// UDP over IPv4, 192.168.65.2:33333 -> 192.168.65.1:53, "kitbox" (captured with scapy).
const OVER_V4 = hexToBytes(
  '82 35', //             source port 33333
  '00 35', //             destination port 53
  '00 0e', //             length 14
  '2a cf', //             checksum (IPv4 pseudo-header)
  '6b 69 74 62 6f 78', // "kitbox"
);

// The same datagram over IPv6, fd00::2 -> fd00::1.
const OVER_V6 = hexToBytes('82 35 00 35 00 0e', '34 1f', '6b 69 74 62 6f 78');

describe('UdpPacket / UdpRepr', () => {
  it('parses and re-emits the IPv4 golden datagram', () => {
    const p = UdpPacket.checked(OVER_V4);
    expect(p.length).toBe(14);
    expect(p.verifyChecksum(V4_SRC, V4_DST)).toBe(true);
    const r = UdpRepr.parse(p, V4_SRC, V4_DST);
    expect(r.srcPort).toBe(33333);
    expect(r.dstPort).toBe(53);
    expect(new TextDecoder().decode(r.payload)).toBe('kitbox');
    expect(r.payload.buffer).toBe(OVER_V4.buffer);
    const out = new Uint8Array(UdpRepr.bufferLen(r));
    UdpRepr.emit(r, UdpPacket.unchecked(out), V4_SRC, V4_DST);
    expect(bytesToHex(out)).toBe(bytesToHex(OVER_V4));
  });

  it('parses and re-emits the IPv6 golden datagram', () => {
    const r = UdpRepr.parse(UdpPacket.checked(OVER_V6), V6_SRC, V6_DST);
    const out = new Uint8Array(UdpRepr.bufferLen(r));
    UdpRepr.emit(r, UdpPacket.unchecked(out), V6_SRC, V6_DST);
    expect(bytesToHex(out)).toBe(bytesToHex(OVER_V6));
  });

  it('rejects a corrupted checksum', () => {
    const bad = OVER_V4.slice();
    bad[13] = (bad[13] ?? 0) ^ 0x20;
    expect(codeOf(() => UdpRepr.parse(UdpPacket.checked(bad), V4_SRC, V4_DST))).toBe('BAD_CHECKSUM');
    expect(codeOf(() => UdpRepr.parse(UdpPacket.checked(bad), V4_SRC, V4_DST, { verifyChecksum: false }))).toBe('OK');
    // Wrong pseudo-header addresses fail too.
    expect(codeOf(() => UdpRepr.parse(UdpPacket.checked(OVER_V4), V4_DST, V4_DST))).toBe('BAD_CHECKSUM');
  });

  it('treats a zero checksum as "none" over IPv4 but invalid over IPv6 (RFC 8200 §8.1)', () => {
    const none = OVER_V4.slice();
    none[6] = 0;
    none[7] = 0;
    expect(codeOf(() => UdpRepr.parse(UdpPacket.checked(none), V4_SRC, V4_DST))).toBe('OK');
    expect(codeOf(() => UdpRepr.parse(UdpPacket.checked(none), V6_SRC, V6_DST))).toBe('BAD_CHECKSUM');
  });

  it('sends a computed zero checksum as 0xffff (RFC 768)', () => {
    const r = { srcPort: 1, dstPort: 2, payload: new Uint8Array(2) };
    const out = new Uint8Array(10);
    UdpRepr.emit(r, UdpPacket.unchecked(out), V4_SRC, V4_DST);
    const c = UdpPacket.unchecked(out).checksum;
    // Put the checksum value itself into the payload: the sum becomes 0xffff and
    // the computed checksum 0.
    const r2 = { ...r, payload: Uint8Array.of(c >> 8, c & 0xff) };
    UdpRepr.emit(r2, UdpPacket.unchecked(out), V4_SRC, V4_DST);
    expect(UdpPacket.unchecked(out).checksum).toBe(0xffff);
    expect(UdpPacket.unchecked(out).verifyChecksum(V4_SRC, V4_DST)).toBe(true);
  });

  it('leaves the checksum zero when asked (offload / IPv4 "none")', () => {
    const r = UdpRepr.parse(UdpPacket.checked(OVER_V4), V4_SRC, V4_DST);
    const out = new Uint8Array(14);
    UdpRepr.emit(r, UdpPacket.unchecked(out), V4_SRC, V4_DST, { fillChecksum: false });
    expect(UdpPacket.unchecked(out).checksum).toBe(0);
  });

  it('reports TRUNCATED at every length short of the length field', () => {
    for (let n = 0; n < OVER_V4.length; n++) expect(codeOf(() => UdpPacket.checked(OVER_V4.subarray(0, n)))).toBe('TRUNCATED');
  });

  it('rejects a length field below 8 and bounds the payload by it', () => {
    const b = OVER_V4.slice();
    b[5] = 7;
    expect(codeOf(() => UdpPacket.checked(b))).toBe('BAD_LENGTH');
    const padded = new Uint8Array([...OVER_V4, 0, 0]);
    expect(UdpPacket.checked(padded).payload.length).toBe(6);
    expect(UdpPacket.checked(padded).verifyChecksum(V4_SRC, V4_DST)).toBe(true);
  });

  it('validates emit inputs', () => {
    const r = { srcPort: 1, dstPort: 70000, payload: new Uint8Array(0) };
    expect(codeOf(() => UdpRepr.emit(r, UdpPacket.unchecked(new Uint8Array(8)), 1, 2))).toBe('INVALID_REPR');
    expect(codeOf(() => UdpRepr.emit({ ...r, dstPort: 1 }, UdpPacket.unchecked(new Uint8Array(7)), 1, 2))).toBe(
      'BUFFER_TOO_SMALL',
    );
    expect(codeOf(() => UdpRepr.emit({ ...r, dstPort: 1 }, UdpPacket.unchecked(new Uint8Array(8)), 1, V6_DST))).toBe(
      'INVALID_REPR',
    );
  });
});
