import { describe, expect, it } from 'vitest';
import { Ipv4Address } from './address.js';
import { bytesToHex, hexToBytes } from './bytes.js';
import { WireError } from './error.js';
import { Icmpv4DstUnreachable, Icmpv4Packet, Icmpv4Repr, Icmpv4Type } from './icmpv4.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof WireError) return e.code;
    throw e;
  }
  return 'OK';
}

function reemit(golden: Uint8Array): string {
  const r = Icmpv4Repr.parse(Icmpv4Packet.checked(golden));
  const out = new Uint8Array(Icmpv4Repr.bufferLen(r));
  Icmpv4Repr.emit(r, Icmpv4Packet.unchecked(out));
  return bytesToHex(out);
}

// Echo request, id 0x1234, seq 1, data "abcdefgh" (captured with scapy).
const ECHO = hexToBytes(
  '08', //          type 8: echo request
  '00', //          code 0
  '54 35', //       checksum
  '12 34', //       identifier
  '00 01', //       sequence number
  '61 62 63 64 65 66 67 68', // data
);

// Port unreachable quoting the whole UDP datagram 192.168.65.2:33333 -> 192.168.65.1:53.
const PORT_UNREACH = hexToBytes(
  '03 03 00 71', // type 3 (destination unreachable), code 3 (port), checksum
  '00 00 00 00', // unused
  '45 00 00 22 42 42 00 00 40 11 35 35 c0 a8 41 02 c0 a8 41 01', // quoted IPv4 header
  '82 35 00 35 00 0e 2a cf', // quoted UDP header
  '6b 69 74 62 6f 78', //       quoted data
);

// Fragmentation needed, next-hop MTU 1400 (RFC 1191), quoting a TCP header.
const FRAG_NEEDED = hexToBytes(
  '03 04 fa f2', // type 3, code 4, checksum
  '00 00 05 78', // unused (16 bits), next-hop MTU 1400
  '45 00 00 28 42 43 40 00 40 06 f5 38 c0 a8 41 02 c0 a8 41 01',
  '9c 40 00 50 00 00 00 01 00 00 00 01 50 10 01 f6 0d f8 00 00',
);

// TTL exceeded in transit, quoting a traceroute probe to 8.8.8.8.
const TIME_EXCEEDED = hexToBytes(
  '0b 00 06 d8', // type 11, code 0, checksum
  '00 00 00 00', // unused
  '45 00 00 20 42 44 00 00 01 11 65 cf c0 a8 41 02 08 08 08 08',
  '82 36 82 9a 00 0c e9 4a 00 00 00 00',
);

describe('Icmpv4Repr', () => {
  it('parses and re-emits the echo request', () => {
    const p = Icmpv4Packet.checked(ECHO);
    expect(p.verifyChecksum()).toBe(true);
    const r = Icmpv4Repr.parse(p);
    expect(r).toEqual({ kind: 'echoRequest', ident: 0x1234, seqNo: 1, data: hexToBytes('6162636465666768') });
    expect(reemit(ECHO)).toBe(bytesToHex(ECHO));
  });

  it('parses the port unreachable with its quoted header', () => {
    const r = Icmpv4Repr.parse(Icmpv4Packet.checked(PORT_UNREACH));
    if (r.kind !== 'dstUnreachable') throw new Error(r.kind);
    expect(r.code).toBe(Icmpv4DstUnreachable.PortUnreachable);
    expect(r.nextHopMtu).toBe(0);
    expect(Ipv4Address.format(r.header.src)).toBe('192.168.65.2');
    expect(Ipv4Address.format(r.header.dst)).toBe('192.168.65.1');
    expect(r.header).toMatchObject({ protocol: 17, payloadLen: 14, ttl: 64, ident: 0x4242 });
    expect(bytesToHex(r.data)).toBe('82350035000e2acf6b6974626f78');
    expect(reemit(PORT_UNREACH)).toBe(bytesToHex(PORT_UNREACH));
  });

  it('reads the RFC 1191 next-hop MTU', () => {
    const r = Icmpv4Repr.parse(Icmpv4Packet.checked(FRAG_NEEDED));
    expect(r).toMatchObject({ kind: 'dstUnreachable', code: 4, nextHopMtu: 1400 });
    expect(reemit(FRAG_NEEDED)).toBe(bytesToHex(FRAG_NEEDED));
  });

  it('parses time exceeded', () => {
    const r = Icmpv4Repr.parse(Icmpv4Packet.checked(TIME_EXCEEDED));
    if (r.kind !== 'timeExceeded') throw new Error(r.kind);
    expect(r.code).toBe(0);
    expect(Ipv4Address.format(r.header.dst)).toBe('8.8.8.8');
    expect(r.header.ttl).toBe(1);
    expect(reemit(TIME_EXCEEDED)).toBe(bytesToHex(TIME_EXCEEDED));
  });

  it('accepts a quote of just header + 8 bytes (truncated original) and rejects less', () => {
    const quote28 = PORT_UNREACH.slice(0, 8 + 28);
    Icmpv4Packet.unchecked(quote28).fillChecksum();
    const r = Icmpv4Repr.parse(Icmpv4Packet.checked(quote28));
    expect(r).toMatchObject({ kind: 'dstUnreachable', header: { payloadLen: 14 } });
    for (let n = 8; n < 8 + 28; n++) {
      const cut = PORT_UNREACH.slice(0, n);
      Icmpv4Packet.unchecked(cut).fillChecksum();
      expect(codeOf(() => Icmpv4Repr.parse(Icmpv4Packet.checked(cut)))).toBe('TRUNCATED');
    }
  });

  it('rejects a malformed quoted header', () => {
    const b = PORT_UNREACH.slice();
    b[8] = 0x65; // quoted version 6
    Icmpv4Packet.unchecked(b).fillChecksum();
    expect(codeOf(() => Icmpv4Repr.parse(Icmpv4Packet.checked(b)))).toBe('BAD_VERSION');
    b[8] = 0x43; // IHL 3
    Icmpv4Packet.unchecked(b).fillChecksum();
    expect(codeOf(() => Icmpv4Repr.parse(Icmpv4Packet.checked(b)))).toBe('BAD_HEADER_LEN');
  });

  it('reports TRUNCATED below 8 bytes and BAD_CHECKSUM for cut data', () => {
    for (let n = 0; n < 8; n++) expect(codeOf(() => Icmpv4Packet.checked(ECHO.subarray(0, n)))).toBe('TRUNCATED');
    for (let n = 8; n < ECHO.length; n++) {
      expect(codeOf(() => Icmpv4Repr.parse(Icmpv4Packet.checked(ECHO.subarray(0, n))))).toBe('BAD_CHECKSUM');
    }
  });

  it('returns other types (and echo with a non-zero code) as "other"', () => {
    const ts = hexToBytes('0d 00 00 00 00 01 00 02', '00 00 00 00 00 00 00 00 00 00 00 00'); // timestamp request
    Icmpv4Packet.unchecked(ts).fillChecksum();
    expect(Icmpv4Repr.parse(Icmpv4Packet.checked(ts))).toMatchObject({ kind: 'other', type: 13, code: 0, rest: 0x00010002 });
    expect(reemit(ts)).toBe(bytesToHex(ts));
    const odd = ECHO.slice();
    odd[1] = 1;
    Icmpv4Packet.unchecked(odd).fillChecksum();
    expect(Icmpv4Repr.parse(Icmpv4Packet.checked(odd)).kind).toBe('other');
  });

  it('emits an echo reply in place over its request', () => {
    const buf = ECHO.slice();
    const req = Icmpv4Repr.parse(Icmpv4Packet.checked(buf));
    if (req.kind !== 'echoRequest') throw new Error(req.kind);
    Icmpv4Repr.emit({ ...req, kind: 'echoReply' }, Icmpv4Packet.unchecked(buf));
    const p = Icmpv4Packet.checked(buf);
    expect(p.msgType).toBe(Icmpv4Type.EchoReply);
    expect(p.verifyChecksum()).toBe(true);
    expect(bytesToHex(p.data)).toBe('6162636465666768');
  });

  it('validates emit inputs', () => {
    const r: Icmpv4Repr = { kind: 'echoRequest', ident: 0x10000, seqNo: 0, data: new Uint8Array(0) };
    expect(codeOf(() => Icmpv4Repr.emit(r, Icmpv4Packet.unchecked(new Uint8Array(8))))).toBe('INVALID_REPR');
    expect(codeOf(() => Icmpv4Repr.emit({ ...r, ident: 1 }, Icmpv4Packet.unchecked(new Uint8Array(7))))).toBe(
      'BUFFER_TOO_SMALL',
    );
  });
});
