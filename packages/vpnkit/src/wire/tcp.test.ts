import { describe, expect, it } from 'vitest';
import { Ipv4Address, Ipv6Address } from './address.js';
import { bytesToHex, hexToBytes } from './bytes.js';
import { WireError } from './error.js';
import { TcpFlags, TcpPacket, TcpRepr, tcpOptions, type TcpOption } from './tcp.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof WireError) return e.code;
    throw e;
  }
  return 'OK';
}

const SRC = Ipv4Address.parse('192.168.65.2');
const DST = Ipv4Address.parse('192.168.65.1');
const SRC6 = Ipv6Address.parse('fd00::2');
const DST6 = Ipv6Address.parse('fd00::1');

// A Linux-style SYN, 192.168.65.2:40000 -> 192.168.65.1:80 (captured with scapy).
const SYN = hexToBytes(
  '9c 40', //       source port 40000
  '00 50', //       destination port 80
  '01 02 03 04', // sequence number
  '00 00 00 00', // acknowledgment number
  'a0', //          data offset 10 (40 bytes), reserved 0
  '02', //          flags: SYN
  'fa f0', //       window 64240
  '43 9d', //       checksum
  '00 00', //       urgent pointer
  '02 04 05 b4', // MSS 1460
  '04 02', //       SACK-permitted
  '08 0a a1 b2 c3 d4 00 00 00 00', // timestamps TSval 0xa1b2c3d4, TSecr 0
  '01', //          NOP
  '03 03 07', //    window scale 7
);

// A data segment with timestamps and two SACK blocks, payload "hello".
const DATA = hexToBytes(
  '9c 40 00 50', // ports 40000 -> 80
  '01 02 03 05', // seq
  '0a 0b 0c 0d', // ack
  'd0 18', //       data offset 13 (52 bytes); flags PSH|ACK
  '01 f6', //       window 502
  '4f be 00 00', // checksum, urgent pointer
  '01 01 08 0a a1 b2 c3 d5 11 22 33 44', //     NOP NOP timestamps
  '01 01 05 12', //                             NOP NOP SACK, length 18 (2 blocks)
  '00 00 03 e8 00 00 07 d0', //                 [1000, 2000)
  '00 00 0b b8 00 00 0f a0', //                 [3000, 4000)
  '68 65 6c 6c 6f', //                          "hello"
);

// An IPv6 SYN without timestamps, fd00::2:40000 -> fd00::1:443.
const SYN6 = hexToBytes(
  '9c 40 01 bb 01 02 03 04 00 00 00 00',
  '80 02 fd 20', // data offset 8 (32 bytes), SYN, window 64800
  'd5 fe 00 00', // checksum, urgent pointer
  '02 04 05 a0', // MSS 1440
  '01 01 04 02', // NOP NOP SACK-permitted
  '01 03 03 07', // NOP window scale 7
);

describe('TcpPacket', () => {
  it('reads the header fields of the golden SYN', () => {
    const p = TcpPacket.checked(SYN);
    expect(p.srcPort).toBe(40000);
    expect(p.dstPort).toBe(80);
    expect(p.seqNumber).toBe(0x01020304);
    expect(p.ackNumber).toBe(0);
    expect(p.headerLen).toBe(40);
    expect(p.flags).toBe(TcpFlags.Syn);
    expect(p.syn && !p.ack && !p.fin && !p.rst && !p.psh && !p.urg && !p.ece && !p.cwr).toBe(true);
    expect(p.windowLen).toBe(64240);
    expect(p.checksum).toBe(0x439d);
    expect(p.options.length).toBe(20);
    expect(p.payload.length).toBe(0);
    expect(p.segmentLen).toBe(1);
    expect(p.verifyChecksum(SRC, DST)).toBe(true);
  });

  it('reports TRUNCATED below the data offset, BAD_CHECKSUM for a cut payload', () => {
    for (let n = 0; n < 52; n++) expect(codeOf(() => TcpPacket.checked(DATA.subarray(0, n)))).toBe('TRUNCATED');
    for (let n = 52; n < DATA.length; n++) {
      expect(codeOf(() => TcpRepr.parse(TcpPacket.checked(DATA.subarray(0, n)), SRC, DST))).toBe('BAD_CHECKSUM');
    }
  });

  it('rejects a data offset below 5', () => {
    const b = SYN.slice();
    b[12] = 0x40;
    expect(codeOf(() => TcpPacket.checked(b))).toBe('BAD_HEADER_LEN');
  });
});

describe('TcpRepr', () => {
  it('parses the golden SYN', () => {
    const r = TcpRepr.parse(TcpPacket.checked(SYN), SRC, DST);
    expect(r).toEqual({
      srcPort: 40000,
      dstPort: 80,
      seqNumber: 0x01020304,
      ackNumber: 0,
      flags: TcpFlags.Syn,
      windowLen: 64240,
      urgentPointer: 0,
      maxSegSize: 1460,
      sackPermitted: true,
      timestamp: { tsVal: 0xa1b2c3d4, tsEcr: 0 },
      windowScale: 7,
      payload: new Uint8Array(0),
    });
    expect(TcpRepr.segmentLen(r)).toBe(1);
  });

  it('emits the golden segments byte for byte', () => {
    for (const [golden, src, dst] of [
      [SYN, SRC, DST],
      [DATA, SRC, DST],
      [SYN6, SRC6, DST6],
    ] as const) {
      const r = TcpRepr.parse(TcpPacket.checked(golden), src, dst);
      const out = new Uint8Array(TcpRepr.bufferLen(r));
      TcpRepr.emit(r, TcpPacket.unchecked(out), src, dst);
      expect(bytesToHex(out)).toBe(bytesToHex(golden));
    }
  });

  it('parses SACK blocks and the payload of the data segment', () => {
    const r = TcpRepr.parse(TcpPacket.checked(DATA), SRC, DST);
    expect(r.flags).toBe(TcpFlags.Psh | TcpFlags.Ack);
    expect(r.ackNumber).toBe(0x0a0b0c0d);
    expect(r.sackBlocks).toEqual([
      { left: 1000, right: 2000 },
      { left: 3000, right: 4000 },
    ]);
    expect(r.timestamp).toEqual({ tsVal: 0xa1b2c3d5, tsEcr: 0x11223344 });
    expect(new TextDecoder().decode(r.payload)).toBe('hello');
    expect(r.payload.buffer).toBe(DATA.buffer);
    expect(TcpRepr.segmentLen(r)).toBe(5);
  });

  it('lays out and pads options', () => {
    const base: TcpRepr = { srcPort: 1, dstPort: 2, seqNumber: 0, ackNumber: 0, flags: TcpFlags.Syn, windowLen: 0, payload: new Uint8Array(0) };
    const opts = (r: TcpRepr): string => {
      const out = new Uint8Array(TcpRepr.bufferLen(r));
      TcpRepr.emit(r, TcpPacket.unchecked(out), SRC, DST);
      expect(TcpRepr.parse(TcpPacket.checked(out), SRC, DST)).toEqual({ urgentPointer: 0, ...r });
      return bytesToHex(TcpPacket.checked(out).options);
    };
    expect(opts(base)).toBe('');
    expect(opts({ ...base, windowScale: 14 })).toBe('0103030e');
    expect(opts({ ...base, sackPermitted: true })).toBe('01010402');
    expect(opts({ ...base, timestamp: { tsVal: 1, tsEcr: 2 } })).toBe('0101080a0000000100000002');
    expect(opts({ ...base, maxSegSize: 536, sackBlocks: [{ left: 1, right: 2 }] })).toBe('020402180101050a0000000100000002');
    expect(TcpRepr.headerLen({ ...base, windowScale: 0 })).toBe(24);
  });

  it('refuses options longer than 40 bytes', () => {
    const r: TcpRepr = {
      srcPort: 1,
      dstPort: 2,
      seqNumber: 0,
      ackNumber: 0,
      flags: TcpFlags.Ack,
      windowLen: 0,
      timestamp: { tsVal: 1, tsEcr: 2 },
      sackBlocks: [1, 2, 3, 4].map((i) => ({ left: i, right: i + 1 })),
      payload: new Uint8Array(0),
    };
    expect(codeOf(() => TcpRepr.emit(r, TcpPacket.unchecked(new Uint8Array(80)), SRC, DST))).toBe('INVALID_REPR');
    const three = { ...r, sackBlocks: r.sackBlocks?.slice(0, 3) };
    expect(codeOf(() => TcpRepr.emit(three, TcpPacket.unchecked(new Uint8Array(60)), SRC, DST))).toBe('OK');
  });

  it('round-trips random segments over both families', () => {
    let s = 99;
    const rnd = (m: number): number => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s % m;
    };
    const u32 = (): number => (rnd(0x10000) * 0x10000 + rnd(0x10000)) >>> 0;
    for (let i = 0; i < 500; i++) {
      const r: TcpRepr = {
        srcPort: rnd(0x10000),
        dstPort: rnd(0x10000),
        seqNumber: u32(),
        ackNumber: u32(),
        flags: rnd(256),
        windowLen: rnd(0x10000),
        urgentPointer: rnd(0x10000),
        payload: Uint8Array.from({ length: rnd(40) }, () => rnd(256)),
      };
      if (rnd(2)) r.maxSegSize = rnd(0x10000);
      if (rnd(2)) r.windowScale = rnd(15);
      if (rnd(2)) r.sackPermitted = true;
      if (rnd(2)) r.timestamp = { tsVal: u32(), tsEcr: u32() };
      if (rnd(2)) r.sackBlocks = Array.from({ length: 1 + rnd(r.timestamp ? 2 : 3) }, () => ({ left: u32(), right: u32() }));
      const [src, dst] = rnd(2) ? [SRC, DST] : [SRC6, DST6];
      const out = new Uint8Array(TcpRepr.bufferLen(r));
      TcpRepr.emit(r, TcpPacket.unchecked(out), src, dst);
      expect(TcpRepr.parse(TcpPacket.checked(out), src, dst)).toEqual(r);
    }
  });
});

describe('tcpOptions', () => {
  const all = (hex: string): TcpOption[] => [...tcpOptions(hexToBytes(hex))];

  it('stops at End of Option List', () => {
    expect(all('01 00 02 04 05 b4')).toEqual([{ kind: 'nop' }, { kind: 'eol' }]);
  });

  it('skips unknown options by their length', () => {
    expect(all('1e 04 aa bb 02 04 05 b4')).toEqual([
      { kind: 'unknown', type: 30, data: hexToBytes('aa bb') },
      { kind: 'mss', value: 1460 },
    ]);
  });

  it('parses four SACK blocks', () => {
    const blocks = all('05 22' + '00000001 00000002'.repeat(4));
    expect(blocks).toEqual([{ kind: 'sack', blocks: Array(4).fill({ left: 1, right: 2 }) }]);
  });

  it.each([
    ['kind without a length octet', '01 02'],
    ['length 0', '1e 00 00 00'],
    ['length 1', '1e 01 00 00'],
    ['length past the area', '1e 05 00 00'],
    ['MSS of length 3', '02 03 05 00'],
    ['MSS of length 5', '02 05 05 b4 00'],
    ['window scale of length 4', '03 04 07 00'],
    ['SACK-permitted of length 3', '04 03 00 00'],
    ['SACK of length 2 (no blocks)', '05 02'],
    ['SACK of length 11', '05 0b 00 00 00 01 00 00 00 02 00'],
    ['SACK of five blocks', '05 2a' + '00'.repeat(40)],
    ['timestamps of length 8', '08 08 00 00 00 01 00 00'],
  ])('rejects %s', (_name, hex) => {
    expect(codeOf(() => all(hex))).toBe('BAD_OPTION');
  });

  it('makes TcpRepr.parse reject a malformed option', () => {
    const b = SYN.slice();
    b[21] = 0; // MSS length 0
    const p = TcpPacket.checked(b);
    p.fillChecksum(SRC, DST);
    expect(codeOf(() => TcpRepr.parse(p, SRC, DST))).toBe('BAD_OPTION');
  });
});
