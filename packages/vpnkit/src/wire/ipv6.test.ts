import { describe, expect, it } from 'vitest';
import { Ipv6Address } from './address.js';
import { bytesToHex, hexToBytes } from './bytes.js';
import { WireError } from './error.js';
import { IpProtocol } from './ipv4.js';
import { IPV6_MAX_EXT_HEADERS, Ipv6Packet, Ipv6Repr, isIpv6Fragmented, walkIpv6ExtHeaders } from './ipv6.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof WireError) return e.code;
    throw e;
  }
  return 'OK';
}

// IPv6 header of a UDP datagram fd00::2 -> fd00::1 (captured with scapy).
const HEADER = hexToBytes(
  '60 00 00 00', // version 6, traffic class 0, flow label 0
  '00 0e', //       payload length 14
  '11', //          next header 17 (UDP)
  '40', //          hop limit 64
  'fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02', // source fd00::2
  'fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01', // destination fd00::1
);
const UDP = hexToBytes('82 35 00 35 00 0e 34 1f', '6b 69 74 62 6f 78'); // 33333 -> 53, "kitbox"
const PACKET = new Uint8Array([...HEADER, ...UDP]);

describe('Ipv6Packet / Ipv6Repr', () => {
  it('parses the golden header', () => {
    const p = Ipv6Packet.checked(PACKET);
    expect(p.version).toBe(6);
    expect(p.payloadLen).toBe(14);
    expect(p.nextHeader).toBe(IpProtocol.Udp);
    expect(bytesToHex(p.payload)).toBe(bytesToHex(UDP));
    const r = Ipv6Repr.parse(p);
    expect(Ipv6Address.format(r.src)).toBe('fd00::2');
    expect(Ipv6Address.format(r.dst)).toBe('fd00::1');
    expect(r).toMatchObject({ nextHeader: 17, payloadLen: 14, hopLimit: 64, trafficClass: 0, flowLabel: 0 });
  });

  it('emits exactly the golden header', () => {
    const r = Ipv6Repr.parse(Ipv6Packet.checked(PACKET));
    const out = new Uint8Array(Ipv6Repr.bufferLen(r));
    Ipv6Repr.emit(r, Ipv6Packet.unchecked(out));
    expect(bytesToHex(out.subarray(0, 40))).toBe(bytesToHex(HEADER));
  });

  it('splits traffic class and flow label', () => {
    const b = PACKET.slice();
    b.set(hexToBytes('6a b1 23 45'), 0); // TC 0xab, flow label 0x12345
    const p = Ipv6Packet.checked(b);
    expect(p.trafficClass).toBe(0xab);
    expect(p.flowLabel).toBe(0x12345);
    const out = new Uint8Array(54);
    Ipv6Repr.emit(Ipv6Repr.parse(p), Ipv6Packet.unchecked(out));
    expect(bytesToHex(out.subarray(0, 4))).toBe('6ab12345');
    const w = Ipv6Packet.unchecked(out);
    w.trafficClass = 0x01;
    w.flowLabel = 0xfffff;
    expect(bytesToHex(out.subarray(0, 4))).toBe('601fffff');
  });

  it('reports TRUNCATED at every length short of the payload length', () => {
    for (let n = 0; n < PACKET.length; n++) expect(codeOf(() => Ipv6Packet.checked(PACKET.subarray(0, n)))).toBe('TRUNCATED');
    expect(codeOf(() => Ipv6Packet.checked(PACKET))).toBe('OK');
    expect(codeOf(() => Ipv6Packet.checkedHeader(PACKET.subarray(0, 40)))).toBe('OK');
  });

  it('rejects a wrong version', () => {
    const b = PACKET.slice();
    b[0] = 0x40;
    expect(codeOf(() => Ipv6Packet.checked(b))).toBe('BAD_VERSION');
  });

  it('excludes trailing bytes beyond the payload length', () => {
    const p = Ipv6Packet.checked(new Uint8Array([...PACKET, 0, 0, 0]));
    expect(p.payload.length).toBe(14);
  });

  it('validates emit inputs', () => {
    const r = Ipv6Repr.parse(Ipv6Packet.checked(PACKET));
    expect(codeOf(() => Ipv6Repr.emit(r, Ipv6Packet.unchecked(new Uint8Array(53))))).toBe('BUFFER_TOO_SMALL');
    expect(codeOf(() => Ipv6Repr.emit({ ...r, src: new Uint8Array(4) }, Ipv6Packet.unchecked(new Uint8Array(54))))).toBe(
      'BAD_ADDRESS',
    );
    expect(codeOf(() => Ipv6Repr.emit({ ...r, flowLabel: 0x100000 }, Ipv6Packet.unchecked(new Uint8Array(54))))).toBe(
      'INVALID_REPR',
    );
  });
});

describe('walkIpv6ExtHeaders', () => {
  it('walks Hop-by-Hop and Destination Options to TCP', () => {
    const payload = hexToBytes(
      '3c 00 01 04 00 00 00 00', // Hop-by-Hop: next 60, len 0 (8 bytes), PadN(4)
      '06 00 01 04 00 00 00 00', // Destination Options: next 6 (TCP), len 0, PadN(4)
      '00 00 00 00', //             TCP starts here
    );
    expect(walkIpv6ExtHeaders(0, payload)).toEqual({ protocol: IpProtocol.Tcp, offset: 16 });
  });

  it('reports a fragment and stops', () => {
    const payload = hexToBytes(
      '11 00 05 c9 00 00 00 4d', // Fragment: next 17, offset 185 (1480 bytes), M=1, ident 77
      'aa bb',
    );
    const r = walkIpv6ExtHeaders(44, payload);
    expect(r).toEqual({
      protocol: IpProtocol.Udp,
      offset: 8,
      fragment: { offset: 1480, moreFrags: true, ident: 77, headerOffset: 0 },
    });
    expect(isIpv6Fragmented(r)).toBe(true);
  });

  it('walks through an atomic fragment (RFC 6946)', () => {
    const payload = hexToBytes(
      '3c 00 00 00 00 00 00 4d', // Fragment: next 60, offset 0, M=0: atomic
      '11 00 01 04 00 00 00 00', // Destination Options: next 17
    );
    const r = walkIpv6ExtHeaders(44, payload);
    expect(r.protocol).toBe(IpProtocol.Udp);
    expect(r.offset).toBe(16);
    expect(r.fragment).toEqual({ offset: 0, moreFrags: false, ident: 77, headerOffset: 0 });
    expect(isIpv6Fragmented(r)).toBe(false);
  });

  it('uses the AH length unit (4 octets, minus 2)', () => {
    const payload = new Uint8Array(24 + 4);
    payload[0] = 6; // next header TCP
    payload[1] = 4; // (4 + 2) * 4 = 24 bytes
    expect(walkIpv6ExtHeaders(51, payload)).toEqual({ protocol: 6, offset: 24 });
  });

  it('stops at No Next Header and at ESP', () => {
    expect(walkIpv6ExtHeaders(59, new Uint8Array(0))).toEqual({ protocol: 59, offset: 0 });
    expect(walkIpv6ExtHeaders(50, new Uint8Array(8))).toEqual({ protocol: 50, offset: 0 });
    expect(walkIpv6ExtHeaders(60, hexToBytes('3b 00 00 00 00 00 00 00'))).toEqual({ protocol: 59, offset: 8 });
  });

  it('rejects Hop-by-Hop anywhere but first', () => {
    const payload = hexToBytes('00 00 00 00 00 00 00 00', '06 00 00 00 00 00 00 00');
    expect(codeOf(() => walkIpv6ExtHeaders(60, payload))).toBe('MALFORMED');
  });

  it('is bounded', () => {
    const n = IPV6_MAX_EXT_HEADERS + 1;
    const payload = new Uint8Array(8 * n);
    for (let i = 0; i < n; i++) payload[8 * i] = i === n - 1 ? 6 : 60;
    expect(codeOf(() => walkIpv6ExtHeaders(60, payload))).toBe('TOO_MANY_HEADERS');
    expect(codeOf(() => walkIpv6ExtHeaders(60, payload.subarray(8)))).toBe('OK');
  });

  it('reports TRUNCATED for every cut of an extension header', () => {
    const payload = hexToBytes('06 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00'); // 16-byte Destination Options
    for (let n = 0; n < 16; n++) expect(codeOf(() => walkIpv6ExtHeaders(60, payload.subarray(0, n)))).toBe('TRUNCATED');
    expect(walkIpv6ExtHeaders(60, payload)).toEqual({ protocol: 6, offset: 16 });
    const frag = hexToBytes('11 00 00 01 00 00 00 01');
    for (let n = 0; n < 8; n++) expect(codeOf(() => walkIpv6ExtHeaders(44, frag.subarray(0, n)))).toBe('TRUNCATED');
  });
});
