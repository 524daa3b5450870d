import { describe, expect, it } from 'vitest';
import { Ipv4Address } from './address.js';
import { bytesToHex, hexToBytes } from './bytes.js';
import { WireError } from './error.js';
import { IpProtocol, Ipv4Packet, Ipv4Repr, validateIpv4Options } from './ipv4.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof WireError) return e.code;
    throw e;
  }
  return 'OK';
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// The classic example header (e.g. Wikipedia "Internet checksum"), checksum 0xb861.
const CLASSIC_HEADER = hexToBytes(
  '45', //          version 4, IHL 5 (20 bytes)
  '00', //          DSCP 0, ECN 0
  '00 73', //       total length 115
  '00 00', //       identification 0
  '40 00', //       flags DF, fragment offset 0
  '40', //          TTL 64
  '11', //          protocol 17 (UDP)
  'b8 61', //       header checksum
  'c0 a8 00 01', // source 192.168.0.1
  'c0 a8 00 c7', // destination 192.168.0.199
);
const CLASSIC = concat(CLASSIC_HEADER, new Uint8Array(95)); // + 95 bytes of payload

// The IPv4 header of a Linux-style TCP SYN (captured with scapy).
const SYN_HEADER = hexToBytes(
  '45 00 00 3c', // v4, IHL 5, TOS 0, total length 60
  '1c 46 40 00', // ident 0x1c46, DF
  '40 06 1b 22', // TTL 64, TCP, checksum 0x1b22
  'c0 a8 41 02', // 192.168.65.2
  'c0 a8 41 01', // 192.168.65.1
);
const SYN = concat(SYN_HEADER, new Uint8Array(40));

function withChecksum(b: Uint8Array): Uint8Array {
  Ipv4Packet.unchecked(b).fillChecksum();
  return b;
}

describe('Ipv4Packet', () => {
  it('reads every field of the classic header', () => {
    const p = Ipv4Packet.checked(CLASSIC);
    expect(p.version).toBe(4);
    expect(p.headerLen).toBe(20);
    expect(p.dscp).toBe(0);
    expect(p.ecn).toBe(0);
    expect(p.totalLen).toBe(115);
    expect(p.ident).toBe(0);
    expect(p.dontFrag).toBe(true);
    expect(p.moreFrags).toBe(false);
    expect(p.fragOffset).toBe(0);
    expect(p.isFragment).toBe(false);
    expect(p.ttl).toBe(64);
    expect(p.protocol).toBe(IpProtocol.Udp);
    expect(p.checksum).toBe(0xb861);
    expect(Ipv4Address.format(p.src)).toBe('192.168.0.1');
    expect(Ipv4Address.format(p.dst)).toBe('192.168.0.199');
    expect(p.options.length).toBe(0);
    expect(p.payload.length).toBe(95);
    expect(p.payload.buffer).toBe(CLASSIC.buffer);
    expect(p.verifyChecksum()).toBe(true);
  });

  it('fills the checksum after a field changes', () => {
    const b = CLASSIC.slice();
    const p = Ipv4Packet.unchecked(b);
    p.ttl = 63;
    expect(p.verifyChecksum()).toBe(false);
    p.fillChecksum();
    expect(p.verifyChecksum()).toBe(true);
    expect(p.checksum).toBe(0xb961); // TTL is the high byte of its word: +0x0100 in the sum
  });

  it('decodes DSCP/ECN and fragmentation fields', () => {
    const b = withChecksum(
      concat(
        hexToBytes(
          '45 b9 00 1c', // TOS 0xb9: DSCP 46 (EF), ECN 01 (ECT(1)); total length 28
          '12 34 20 b9', // ident 0x1234; flags MF; offset 185 (* 8 = 1480)
          '40 11 00 00 0a 00 00 01 0a 00 00 02',
        ),
        new Uint8Array(8),
      ),
    );
    const r = Ipv4Repr.parse(Ipv4Packet.checked(b));
    expect(r).toMatchObject({ dscp: 46, ecn: 1, ident: 0x1234, moreFrags: true, dontFrag: false, fragOffset: 1480 });
    expect(Ipv4Packet.checked(b).isFragment).toBe(true);
    const out = new Uint8Array(28);
    Ipv4Repr.emit(r, Ipv4Packet.unchecked(out));
    expect(bytesToHex(out.subarray(0, 20))).toBe(bytesToHex(b.subarray(0, 20)));
  });

  it('reports TRUNCATED at every length short of the total length', () => {
    for (let n = 0; n < SYN.length; n++) expect(codeOf(() => Ipv4Packet.checked(SYN.subarray(0, n)))).toBe('TRUNCATED');
    expect(codeOf(() => Ipv4Packet.checked(SYN))).toBe('OK');
  });

  it('validates version, IHL and total length', () => {
    const v6 = SYN.slice();
    v6[0] = 0x65;
    expect(codeOf(() => Ipv4Packet.checked(v6))).toBe('BAD_VERSION');
    const ihl4 = SYN.slice();
    ihl4[0] = 0x44;
    expect(codeOf(() => Ipv4Packet.checked(ihl4))).toBe('BAD_HEADER_LEN');
    const ihl15 = SYN.slice(0, 40);
    ihl15[0] = 0x4f; // 60-byte header in a 40-byte buffer
    expect(codeOf(() => Ipv4Packet.checked(ihl15))).toBe('TRUNCATED');
    const short = SYN.slice();
    short[2] = 0;
    short[3] = 19; // total length < header length
    expect(codeOf(() => Ipv4Packet.checked(short))).toBe('BAD_LENGTH');
    const long = SYN.slice();
    long[3] = 61; // one more than the buffer
    expect(codeOf(() => Ipv4Packet.checked(long))).toBe('TRUNCATED');
  });

  it('excludes link-layer padding from the payload', () => {
    const padded = concat(SYN, new Uint8Array(6));
    const p = Ipv4Packet.checked(padded);
    expect(p.payload.length).toBe(40);
  });

  it('lets checkedHeader accept a truncated datagram (for ICMP quotes)', () => {
    const quoted = SYN.subarray(0, 28);
    expect(codeOf(() => Ipv4Packet.checked(quoted))).toBe('TRUNCATED');
    const p = Ipv4Packet.checkedHeader(quoted);
    expect(p.totalLen).toBe(60);
    expect(p.payload.length).toBe(8);
    for (let n = 0; n < 20; n++) expect(codeOf(() => Ipv4Packet.checkedHeader(SYN.subarray(0, n)))).toBe('TRUNCATED');
  });
});

describe('Ipv4Repr', () => {
  it('parses the classic header and emits the exact bytes', () => {
    const r = Ipv4Repr.parse(Ipv4Packet.checked(CLASSIC));
    expect(r).toEqual({
      src: Ipv4Address.parse('192.168.0.1'),
      dst: Ipv4Address.parse('192.168.0.199'),
      protocol: 17,
      payloadLen: 95,
      ttl: 64,
      dscp: 0,
      ecn: 0,
      ident: 0,
      dontFrag: true,
      moreFrags: false,
      fragOffset: 0,
    });
    expect(Ipv4Repr.bufferLen(r)).toBe(115);
    expect(Ipv4Repr.headerLen(r)).toBe(20);
    const out = new Uint8Array(115);
    Ipv4Repr.emit(r, Ipv4Packet.unchecked(out));
    expect(bytesToHex(out.subarray(0, 20))).toBe(bytesToHex(CLASSIC_HEADER));
  });

  it('emits the captured SYN header exactly', () => {
    const out = new Uint8Array(60);
    Ipv4Repr.emit(
      {
        src: Ipv4Address.parse('192.168.65.2'),
        dst: Ipv4Address.parse('192.168.65.1'),
        protocol: IpProtocol.Tcp,
        payloadLen: 40,
        ttl: 64,
        ident: 0x1c46,
        dontFrag: true,
      },
      Ipv4Packet.unchecked(out),
    );
    expect(bytesToHex(out.subarray(0, 20))).toBe(bytesToHex(SYN_HEADER));
  });

  it('throws BAD_CHECKSUM unless verification is disabled', () => {
    const bad = SYN.slice();
    bad[11] = (bad[11] ?? 0) ^ 1;
    expect(codeOf(() => Ipv4Packet.checked(bad))).toBe('OK');
    expect(Ipv4Packet.checked(bad).verifyChecksum()).toBe(false);
    expect(codeOf(() => Ipv4Repr.parse(Ipv4Packet.checked(bad)))).toBe('BAD_CHECKSUM');
    expect(codeOf(() => Ipv4Repr.parse(Ipv4Packet.checked(bad), { verifyChecksum: false }))).toBe('OK');
  });

  it('validates the option list', () => {
    const withOptions = (opts: string): Uint8Array =>
      withChecksum(concat(hexToBytes('46 00 00 18 00 00 00 00 40 11 00 00 0a 00 00 01 0a 00 00 02', opts)));
    // NOP NOP NOP EOL
    expect(codeOf(() => Ipv4Repr.parse(Ipv4Packet.checked(withOptions('01 01 01 00'))))).toBe('OK');
    // Record Route of length 3 (pointer only), then EOL
    expect(codeOf(() => Ipv4Repr.parse(Ipv4Packet.checked(withOptions('07 03 04 00'))))).toBe('OK');
    // Length 5 runs past the 4-byte option area
    expect(codeOf(() => Ipv4Repr.parse(Ipv4Packet.checked(withOptions('07 05 04 00'))))).toBe('BAD_OPTION');
    // Length 1 is below the minimum of 2
    expect(codeOf(() => Ipv4Repr.parse(Ipv4Packet.checked(withOptions('07 01 01 00'))))).toBe('BAD_OPTION');
    // An option type with no length octet
    expect(codeOf(() => Ipv4Repr.parse(Ipv4Packet.checked(withOptions('01 01 01 07'))))).toBe('BAD_OPTION');
    // After EOL the rest is padding and is not inspected
    expect(codeOf(() => validateIpv4Options(hexToBytes('00 07 ff')))).toBe('OK');
    const p = Ipv4Packet.checked(withOptions('01 01 01 00'));
    expect(p.headerLen).toBe(24);
    expect(bytesToHex(p.options)).toBe('01010100');
  });

  it('round-trips random headers', () => {
    let s = 11;
    const rnd = (m: number): number => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s % m;
    };
    for (let i = 0; i < 500; i++) {
      const r: Ipv4Repr = {
        src: (rnd(0x10000) * 0x10000 + rnd(0x10000)) >>> 0,
        dst: (rnd(0x10000) * 0x10000 + rnd(0x10000)) >>> 0,
        protocol: rnd(256),
        payloadLen: rnd(100),
        ttl: rnd(256),
        dscp: rnd(64),
        ecn: rnd(4),
        ident: rnd(0x10000),
        dontFrag: rnd(2) === 1,
        moreFrags: rnd(2) === 1,
        fragOffset: rnd(0x2000) * 8,
      };
      const buf = new Uint8Array(Ipv4Repr.bufferLen(r));
      Ipv4Repr.emit(r, Ipv4Packet.unchecked(buf));
      expect(Ipv4Repr.parse(Ipv4Packet.checked(buf))).toEqual(r);
    }
  });

  it('validates emit inputs', () => {
    const r: Ipv4Repr = { src: 1, dst: 2, protocol: 6, payloadLen: 10, ttl: 64 };
    expect(codeOf(() => Ipv4Repr.emit(r, Ipv4Packet.unchecked(new Uint8Array(29))))).toBe('BUFFER_TOO_SMALL');
    expect(codeOf(() => Ipv4Repr.emit({ ...r, ttl: 256 }, Ipv4Packet.unchecked(new Uint8Array(30))))).toBe('INVALID_REPR');
    expect(codeOf(() => Ipv4Repr.emit({ ...r, fragOffset: 12 }, Ipv4Packet.unchecked(new Uint8Array(30))))).toBe(
      'INVALID_REPR',
    );
    expect(codeOf(() => Ipv4Repr.emit({ ...r, payloadLen: 65516 }, Ipv4Packet.unchecked(new Uint8Array(70000))))).toBe(
      'INVALID_REPR',
    );
  });
});
