import { describe, expect, it } from 'vitest';
import { EthernetAddress, Ipv6Address } from './address.js';
import { bytesToHex, hexToBytes } from './bytes.js';
import { WireError } from './error.js';
import { Icmpv6Packet, Icmpv6Repr, ndiscOptions } from './icmpv6.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof WireError) return e.code;
    throw e;
  }
  return 'OK';
}

const A = Ipv6Address.parse; // shorthand
const MAC1 = EthernetAddress.parse('02:50:00:00:00:01');
const MAC2 = EthernetAddress.parse('02:50:00:00:00:02');
const LL1 = A('fe80::50:ff:fe00:1');
const LL2 = A('fe80::50:ff:fe00:2');

function reemit(golden: Uint8Array, src: Uint8Array, dst: Uint8Array): string {
  const r = Icmpv6Repr.parse(Icmpv6Packet.checked(golden), src, dst);
  const out = new Uint8Array(Icmpv6Repr.bufferLen(r));
  Icmpv6Repr.emit(r, Icmpv6Packet.unchecked(out), src, dst);
  return bytesToHex(out);
}

/** Re-checksum a mutated message so parsing reaches the field under test. */
function fixed(b: Uint8Array, src: Uint8Array, dst: Uint8Array): Icmpv6Packet {
  const p = Icmpv6Packet.unchecked(b);
  p.fillChecksum(src, dst);
  return Icmpv6Packet.checked(b);
}

// All goldens captured with scapy.
// Neighbor Solicitation fe80::50:ff:fe00:2 -> ff02::1:ff00:1 for fe80::50:ff:fe00:1.
const NS = hexToBytes(
  '87 00 7b a7', // type 135, code 0, checksum
  '00 00 00 00', // reserved
  'fe 80 00 00 00 00 00 00 00 50 00 ff fe 00 00 01', // target address
  '01 01 02 50 00 00 00 02', // option 1 (source link-layer address), length 1 (8 bytes)
);
const NS_SRC = LL2;
const NS_DST = A('ff02::1:ff00:1');

// Neighbor Advertisement fe80::50:ff:fe00:1 -> fe80::50:ff:fe00:2, R S O set.
const NA = hexToBytes(
  '88 00 99 db', // type 136, code 0, checksum
  'e0 00 00 00', // R=1 S=1 O=1, reserved
  'fe 80 00 00 00 00 00 00 00 50 00 ff fe 00 00 01', // target address
  '02 01 02 50 00 00 00 01', // option 2 (target link-layer address)
);

// Router Solicitation fe80::50:ff:fe00:2 -> ff02::2.
const RS = hexToBytes(
  '85 00 7a 8a', // type 133, code 0, checksum
  '00 00 00 00', // reserved
  '01 01 02 50 00 00 00 02', // source link-layer address
);

// Router Advertisement fe80::50:ff:fe00:1 -> ff02::1.
const RA = hexToBytes(
  '86 00 44 3c', // type 134, code 0, checksum
  '40', //          cur hop limit 64
  '40', //          M=0, O=1
  '07 08', //       router lifetime 1800 s
  '00 00 00 00', // reachable time
  '00 00 00 00', // retrans timer
  '01 01 02 50 00 00 00 01', // source link-layer address
  '05 01 00 00 00 00 05 dc', // MTU 1500
  '03 04 40 c0', // prefix information, length 4, /64, L=1 A=1
  '00 01 51 80', // valid lifetime 86400
  '00 00 38 40', // preferred lifetime 14400
  '00 00 00 00', // reserved2
  'fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00', // prefix fd00::
  '19 03 00 00', // RDNSS, length 3, reserved
  '00 00 02 58', // lifetime 600
  'fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01', // fd00::1
);

// Echo request fd00::2 -> fd00::1, id 0x1234 seq 1, "abcdefgh".
const ECHO = hexToBytes('80 00 e1 e5', '12 34 00 01', '61 62 63 64 65 66 67 68');

// Packet Too Big fd00::1 -> fd00::2, MTU 1280, quoting a UDP datagram to 2001:db8::9.
const PTB = hexToBytes(
  '02 00 8d 54', // type 2, code 0, checksum
  '00 00 05 00', // MTU 1280
  '60 00 00 00 00 0e 11 3f', // quoted IPv6 header: payload 14, UDP, hop limit 63
  'fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02',
  '20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 09',
  '82 35 00 35 00 0e 03 5f 6b 69 74 62 6f 78', // quoted UDP datagram
);

describe('Icmpv6Repr: Neighbor Discovery', () => {
  it('parses and re-emits the Neighbor Solicitation', () => {
    const r = Icmpv6Repr.parse(Icmpv6Packet.checked(NS), NS_SRC, NS_DST);
    expect(r).toEqual({ kind: 'neighborSolicit', target: LL1, sourceLinkAddr: MAC2 });
    expect(reemit(NS, NS_SRC, NS_DST)).toBe(bytesToHex(NS));
  });

  it('parses and re-emits the Neighbor Advertisement', () => {
    const r = Icmpv6Repr.parse(Icmpv6Packet.checked(NA), LL1, LL2);
    expect(r).toEqual({ kind: 'neighborAdvert', router: true, solicited: true, override: true, target: LL1, targetLinkAddr: MAC1 });
    expect(reemit(NA, LL1, LL2)).toBe(bytesToHex(NA));
  });

  it('parses and re-emits the Router Solicitation', () => {
    expect(Icmpv6Repr.parse(Icmpv6Packet.checked(RS), LL2, A('ff02::2'))).toEqual({
      kind: 'routerSolicit',
      sourceLinkAddr: MAC2,
    });
    expect(reemit(RS, LL2, A('ff02::2'))).toBe(bytesToHex(RS));
  });

  it('parses and re-emits the Router Advertisement with all options', () => {
    const r = Icmpv6Repr.parse(Icmpv6Packet.checked(RA), LL1, A('ff02::1'));
    expect(r).toEqual({
      kind: 'routerAdvert',
      hopLimit: 64,
      managed: false,
      other: true,
      routerLifetime: 1800,
      reachableTime: 0,
      retransTime: 0,
      sourceLinkAddr: MAC1,
      mtu: 1500,
      prefixes: [
        { prefixLen: 64, onLink: true, autonomous: true, validLifetime: 86400, preferredLifetime: 14400, prefix: A('fd00::') },
      ],
      rdnss: { lifetime: 600, servers: [A('fd00::1')] },
    });
    expect(reemit(RA, LL1, A('ff02::1'))).toBe(bytesToHex(RA));
  });

  it('skips unknown options (RFC 4861 §4.6)', () => {
    const b = new Uint8Array([...RS.subarray(0, 8), ...hexToBytes('c8 01 00 00 00 00 00 00'), ...RS.subarray(8)]);
    expect(Icmpv6Repr.parse(fixed(b, LL2, A('ff02::2')), LL2, A('ff02::2'))).toEqual({
      kind: 'routerSolicit',
      sourceLinkAddr: MAC2,
    });
  });

  it.each([
    ['zero option length', (b: Uint8Array) => (b[25] = 0), 'BAD_OPTION'],
    ['option running past the message', (b: Uint8Array) => (b[25] = 2), 'BAD_OPTION'],
    ['non-zero code', (b: Uint8Array) => (b[1] = 1), 'MALFORMED'],
  ])('rejects NS with %s', (_name, mutate, code) => {
    const b = NS.slice();
    mutate(b);
    expect(codeOf(() => Icmpv6Repr.parse(fixed(b, NS_SRC, NS_DST), NS_SRC, NS_DST))).toBe(code);
  });

  it.each([
    ['prefix information of length 3', '03 03 40 c0' + '00'.repeat(20)],
    ['prefix information of length 5', '03 05 40 c0' + '00'.repeat(36)],
    ['MTU option of length 2', '05 02 00 00 00 00 05 dc' + '00'.repeat(8)],
    ['RDNSS of length 2 (no address)', '19 02 00 00 00 00 02 58' + '00'.repeat(8)],
    ['RDNSS of even length 4', '19 04 00 00 00 00 02 58' + '00'.repeat(24)],
  ])('rejects RA with %s', (_name, option) => {
    const b = new Uint8Array([...RA.subarray(0, 16), ...hexToBytes(option)]);
    expect(codeOf(() => Icmpv6Repr.parse(fixed(b, LL1, A('ff02::1')), LL1, A('ff02::1')))).toBe('BAD_OPTION');
  });

  it('reports TRUNCATED below the fixed part and BAD_OPTION for a cut option', () => {
    for (let n = 0; n < 24; n++) expect(codeOf(() => Icmpv6Packet.checked(NS.subarray(0, n)))).toBe('TRUNCATED');
    for (let n = 0; n < 16; n++) expect(codeOf(() => Icmpv6Packet.checked(RA.subarray(0, n)))).toBe('TRUNCATED');
    const noVerify = { verifyChecksum: false };
    expect(codeOf(() => Icmpv6Repr.parse(Icmpv6Packet.checked(NS.subarray(0, 24)), NS_SRC, NS_DST, noVerify))).toBe('OK');
    for (let n = 25; n < NS.length; n++) {
      expect(codeOf(() => Icmpv6Repr.parse(Icmpv6Packet.checked(NS.subarray(0, n)), NS_SRC, NS_DST, noVerify))).toBe(
        'BAD_OPTION',
      );
      expect(codeOf(() => Icmpv6Repr.parse(Icmpv6Packet.checked(NS.subarray(0, n)), NS_SRC, NS_DST))).toBe('BAD_CHECKSUM');
    }
  });

  it('iterates options with their raw bytes', () => {
    const opts = [...ndiscOptions(Icmpv6Packet.checked(RA).ndiscOptions)].map((o) => [o.type, o.bytes.length]);
    expect(opts).toEqual([
      [1, 8],
      [5, 8],
      [3, 32],
      [25, 24],
    ]);
  });
});

describe('Icmpv6Repr: echo and errors', () => {
  it('parses and re-emits the echo request', () => {
    const r = Icmpv6Repr.parse(Icmpv6Packet.checked(ECHO), A('fd00::2'), A('fd00::1'));
    expect(r).toEqual({ kind: 'echoRequest', ident: 0x1234, seqNo: 1, data: hexToBytes('6162636465666768') });
    expect(reemit(ECHO, A('fd00::2'), A('fd00::1'))).toBe(bytesToHex(ECHO));
  });

  it('verifies the checksum against the pseudo-header addresses', () => {
    expect(codeOf(() => Icmpv6Repr.parse(Icmpv6Packet.checked(ECHO), A('fd00::3'), A('fd00::1')))).toBe('BAD_CHECKSUM');
  });

  it('parses and re-emits Packet Too Big', () => {
    const r = Icmpv6Repr.parse(Icmpv6Packet.checked(PTB), A('fd00::1'), A('fd00::2'));
    if (r.kind !== 'packetTooBig') throw new Error(r.kind);
    expect(r.mtu).toBe(1280);
    expect(Ipv6Address.format(r.header.dst)).toBe('2001:db8::9');
    expect(r.header).toMatchObject({ nextHeader: 17, payloadLen: 14, hopLimit: 63 });
    expect(r.data.length).toBe(14);
    expect(reemit(PTB, A('fd00::1'), A('fd00::2'))).toBe(bytesToHex(PTB));
  });

  it('round-trips destination unreachable, time exceeded and parameter problem', () => {
    const src = A('fd00::1');
    const dst = A('fd00::2');
    const header = { src: dst, dst: A('2001:db8::9'), nextHeader: 17, payloadLen: 14, hopLimit: 63, trafficClass: 0, flowLabel: 0 };
    const data = hexToBytes('82 35 00 35');
    for (const r of [
      { kind: 'dstUnreachable', code: 4, header, data },
      { kind: 'timeExceeded', code: 1, header, data },
      { kind: 'paramProblem', code: 1, pointer: 40, header, data },
    ] as Icmpv6Repr[]) {
      const out = new Uint8Array(Icmpv6Repr.bufferLen(r));
      Icmpv6Repr.emit(r, Icmpv6Packet.unchecked(out), src, dst);
      expect(Icmpv6Repr.parse(Icmpv6Packet.checked(out), src, dst)).toEqual(r);
    }
  });

  it('requires the quoted IPv6 header to be complete', () => {
    for (let n = 8; n < 48; n++) {
      const b = PTB.slice(0, n);
      expect(codeOf(() => Icmpv6Repr.parse(fixed(b, A('fd00::1'), A('fd00::2')), A('fd00::1'), A('fd00::2')))).toBe(
        'TRUNCATED',
      );
    }
  });

  it('returns other types as "other" and re-emits them', () => {
    // MLDv1 query (type 130) is not decoded here.
    const mld = hexToBytes('82 00 00 00 00 0a 00 00', '00'.repeat(16));
    const p = fixed(mld, LL1, A('ff02::1'));
    expect(Icmpv6Repr.parse(p, LL1, A('ff02::1'))).toMatchObject({ kind: 'other', type: 130, code: 0 });
    expect(reemit(mld, LL1, A('ff02::1'))).toBe(bytesToHex(mld));
  });

  it('emits an echo reply in place over its request', () => {
    const buf = ECHO.slice();
    const src = A('fd00::2');
    const dst = A('fd00::1');
    const req = Icmpv6Repr.parse(Icmpv6Packet.checked(buf), src, dst);
    if (req.kind !== 'echoRequest') throw new Error(req.kind);
    Icmpv6Repr.emit({ ...req, kind: 'echoReply' }, Icmpv6Packet.unchecked(buf), dst, src);
    expect(Icmpv6Repr.parse(Icmpv6Packet.checked(buf), dst, src)).toEqual({ ...req, kind: 'echoReply' });
  });

  it('validates emit inputs', () => {
    const ns: Icmpv6Repr = { kind: 'neighborSolicit', target: new Uint8Array(4) };
    expect(codeOf(() => Icmpv6Repr.emit(ns, Icmpv6Packet.unchecked(new Uint8Array(24)), LL1, LL2))).toBe('BAD_ADDRESS');
    expect(codeOf(() => Icmpv6Repr.emit({ ...ns, target: LL1 }, Icmpv6Packet.unchecked(new Uint8Array(23)), LL1, LL2))).toBe(
      'BUFFER_TOO_SMALL',
    );
  });
});
