/**
 * ICMP errors to guests: golden bytes (checksums computed apart, by a
 * Python one's-complement sum), the RFC 1122/1812/4443 "never about"
 * rules, the quote bounds and the token bucket.
 */
import { describe, expect, it } from 'vitest';
import {
  Icmpv4Packet,
  Icmpv4Repr,
  Icmpv6Packet,
  Icmpv6Repr,
  IpProtocol,
  Ipv4Address,
  Ipv4Packet,
  Ipv4Repr,
  Ipv6Address,
  Ipv6Packet,
  Ipv6Repr,
  UdpPacket,
  UdpRepr,
} from '../wire/index.js';
import {
  ICMPV6_ERROR_MAX_QUOTE,
  IcmpErrorLimiter,
  icmpv4ErrorFrame,
  icmpv4ErrorQuote,
  icmpv6ErrorFrame,
  icmpv6ErrorQuote,
} from './icmp-error.js';

/** Hex bytes, a line at a time; a line's comment starts at its first word that is not a byte. */
function hex(s: string): Uint8Array {
  const out: number[] = [];
  for (const line of s.split('\n')) {
    for (const w of line.trim().split(/\s+/)) {
      if (!/^[0-9a-f]{2}$/i.test(w)) break;
      out.push(parseInt(w, 16));
    }
  }
  return Uint8Array.from(out);
}
const SUBNET = { network: Ipv4Address.parse('192.168.65.0'), prefixLen: 24 };
const GUEST = Ipv4Address.parse('192.168.65.3');
const HOST = Ipv4Address.parse('192.168.65.2');

/** Guest 192.168.65.3:40000 -> host alias 192.168.65.2:9, "hi", DF, ident 0x1234. */
const UDP4 = hex(`
  45 00 00 1e  12 34 40 00  40 11 25 45   version 4 IHL 5, total 30, ident 0x1234, DF, TTL 64, UDP, header checksum
  c0 a8 41 03  c0 a8 41 02                src 192.168.65.3, dst 192.168.65.2
  9c 40 00 09  00 0a f7 d0                UDP 40000 -> 9, length 10, checksum
  68 69                                   "hi"
`);

/** Guest [fd00:192:168:65::77]:40000 -> host alias [fd00:192:168:65::2]:9, "hi". */
const UDP6 = hex(`
  60 00 00 00  00 0a 11 40                version 6, payload 10, next header UDP, hop limit 64
  fd 00 01 92 01 68 00 65 00 00 00 00 00 00 00 77
  fd 00 01 92 01 68 00 65 00 00 00 00 00 00 00 02
  9c 40 00 09  00 0a f9 ee  68 69         UDP 40000 -> 9, length 10, checksum, "hi"
`);

function udp4(o: Partial<Ipv4Repr> & { payload?: Uint8Array } = {}): Uint8Array {
  const payload = o.payload ?? new Uint8Array(16);
  const u: UdpRepr = { srcPort: 40000, dstPort: 9, payload };
  const buf = new Uint8Array(20 + UdpRepr.bufferLen(u));
  const ip: Ipv4Repr = { src: GUEST, dst: HOST, protocol: IpProtocol.Udp, payloadLen: buf.length - 20, ttl: 64, ...o };
  Ipv4Repr.emit(ip, Ipv4Packet.unchecked(buf));
  UdpRepr.emit(u, UdpPacket.unchecked(buf.subarray(20)), ip.src, ip.dst);
  return buf;
}

describe('ICMPv4 port unreachable', () => {
  it('golden bytes: IP header + first 8 data bytes quoted, from the host alias to the guest', () => {
    expect(UDP4.length).toBe(30);
    const quote = icmpv4ErrorQuote(UDP4, SUBNET);
    expect(quote).toEqual(UDP4.subarray(0, 28)); // header + UDP header, not "hi"
    const frame = icmpv4ErrorFrame(HOST, 0x0101, 3, 3, 0, quote!);
    expect(frame.subarray(0, 14)).toEqual(new Uint8Array(14)); // headroom for Ethernet
    expect(frame.subarray(14)).toEqual(
      hex(`
        45 00 00 38 01 01 00 00 40 01 76 6e c0 a8 41 02 c0 a8 41 03
        03 03 68 d8 00 00 00 00
        45 00 00 1e 12 34 40 00 40 11 25 45 c0 a8 41 03 c0 a8 41 02 9c 40 00 09 00 0a f7 d0
      `),
    );
    // And our own parser agrees (checksums verified).
    const r = Icmpv4Repr.parse(Icmpv4Packet.checked(frame.subarray(34)));
    expect(r.kind).toBe('dstUnreachable');
    if (r.kind === 'dstUnreachable') {
      expect(r.code).toBe(3);
      expect(r.header.src).toBe(GUEST);
      expect(r.data.length).toBe(8);
    }
  });

  it('fragmentation needed carries the next-hop MTU in bytes 6..7', () => {
    const frame = icmpv4ErrorFrame(Ipv4Address.parse('192.168.65.1'), 7, 3, 4, 1500, icmpv4ErrorQuote(UDP4)!);
    const r = Icmpv4Repr.parse(Icmpv4Packet.checked(frame.subarray(34)));
    expect(r.kind === 'dstUnreachable' && r.nextHopMtu).toBe(1500);
  });

  it('quotes IP options whole and fewer than 8 bytes when the datagram has fewer', () => {
    const withOpts = new Uint8Array(24 + 8);
    withOpts.set(UDP4.subarray(0, 20));
    withOpts[0] = 0x46; // IHL 6: one word of options (NOPs, then end of list)
    withOpts.set([1, 1, 1, 0], 20);
    withOpts[3] = 32;
    withOpts.set(UDP4.subarray(20, 28), 24);
    expect(icmpv4ErrorQuote(withOpts)?.length).toBe(32);
    const short = UDP4.slice(0, 24);
    short[3] = 24;
    expect(icmpv4ErrorQuote(short)?.length).toBe(24);
  });

  it('is never about an ICMP error, a broadcast or multicast, a later fragment or a non-host source', () => {
    // ICMP errors (3, 11) are not answered; an echo request may be.
    const icmp = (type: number): Uint8Array => {
      const d = udp4({ protocol: IpProtocol.Icmp });
      d[20] = type;
      return d;
    };
    expect(icmpv4ErrorQuote(icmp(3))).toBeUndefined();
    expect(icmpv4ErrorQuote(icmp(11))).toBeUndefined();
    expect(icmpv4ErrorQuote(icmp(8))).toBeDefined();
    expect(icmpv4ErrorQuote(udp4({ dst: 0xffffffff }), SUBNET)).toBeUndefined();
    expect(icmpv4ErrorQuote(udp4({ dst: Ipv4Address.parse('192.168.65.255') }), SUBNET)).toBeUndefined();
    expect(icmpv4ErrorQuote(udp4({ dst: Ipv4Address.parse('224.0.0.251') }))).toBeUndefined();
    expect(icmpv4ErrorQuote(udp4({ src: 0 }))).toBeUndefined();
    expect(icmpv4ErrorQuote(udp4({ src: Ipv4Address.parse('127.0.0.1') }))).toBeUndefined();
    expect(icmpv4ErrorQuote(udp4({ src: Ipv4Address.parse('240.0.0.1') }))).toBeUndefined();
    expect(icmpv4ErrorQuote(udp4({ src: Ipv4Address.parse('192.168.65.255') }), SUBNET)).toBeUndefined();
    // The first fragment may be answered, no later one.
    expect(icmpv4ErrorQuote(udp4({ moreFrags: true }))).toBeDefined();
    expect(icmpv4ErrorQuote(udp4({ fragOffset: 8 }))).toBeUndefined();
    // Garbage is not quoted.
    expect(icmpv4ErrorQuote(UDP4.subarray(0, 19))).toBeUndefined();
    expect(icmpv4ErrorQuote(Uint8Array.of(0x65, ...UDP4.subarray(1)))).toBeUndefined();
  });
});

describe('ICMPv6 port unreachable', () => {
  const H6 = Ipv6Address.parse('fd00:192:168:65::2');
  const G6 = Ipv6Address.parse('fd00:192:168:65::77');

  function udp6(o: Partial<Ipv6Repr> = {}, payloadLen = 16): Uint8Array {
    const u: UdpRepr = { srcPort: 40000, dstPort: 9, payload: new Uint8Array(payloadLen) };
    const buf = new Uint8Array(40 + UdpRepr.bufferLen(u));
    const ip: Ipv6Repr = { src: G6, dst: H6, nextHeader: IpProtocol.Udp, payloadLen: buf.length - 40, hopLimit: 64, ...o };
    Ipv6Repr.emit(ip, Ipv6Packet.unchecked(buf));
    UdpRepr.emit(u, UdpPacket.unchecked(buf.subarray(40)), ip.src, ip.dst);
    return buf;
  }

  it('golden bytes: type 1 code 4, the whole invoking packet', () => {
    const quote = icmpv6ErrorQuote(UDP6);
    expect(quote).toEqual(UDP6);
    const frame = icmpv6ErrorFrame(H6, 1, 4, 0, quote!);
    expect(frame.subarray(14, 54)).toEqual(
      hex(`
        60 00 00 00 00 3a 3a 40
        fd 00 01 92 01 68 00 65 00 00 00 00 00 00 00 02
        fd 00 01 92 01 68 00 65 00 00 00 00 00 00 00 77
      `),
    ); // payload 58, next header ICMPv6, hop limit 64, from the alias to the guest
    expect(frame.subarray(54, 62)).toEqual(hex('01 04 8c 1f 00 00 00 00'));
    expect(frame.subarray(62)).toEqual(UDP6);
    const r = Icmpv6Repr.parse(Icmpv6Packet.checked(frame.subarray(54)), H6, G6);
    expect(r.kind === 'dstUnreachable' && r.code).toBe(4);
  });

  it('quotes at most 1232 bytes, so the error fits the minimum MTU of 1280', () => {
    const big = udp6({}, 4000);
    const quote = icmpv6ErrorQuote(big)!;
    expect(quote.length).toBe(ICMPV6_ERROR_MAX_QUOTE);
    expect(quote).toEqual(big.subarray(0, 1232));
    expect(icmpv6ErrorFrame(H6, 1, 4, 0, quote).length - 14).toBe(1280);
  });

  it('is never about an ICMPv6 error or redirect, a multicast, a later fragment or a non-host source', () => {
    const icmp = (type: number): Uint8Array => {
      const p = udp6({ nextHeader: IpProtocol.Icmpv6 });
      p[40] = type;
      return p;
    };
    expect(icmpv6ErrorQuote(icmp(1))).toBeUndefined();
    expect(icmpv6ErrorQuote(icmp(2))).toBeUndefined();
    expect(icmpv6ErrorQuote(icmp(137))).toBeUndefined();
    expect(icmpv6ErrorQuote(icmp(128))).toBeDefined();
    expect(icmpv6ErrorQuote(udp6({ dst: Ipv6Address.parse('ff02::1') }))).toBeUndefined();
    expect(icmpv6ErrorQuote(udp6({ src: Ipv6Address.parse('::') }))).toBeUndefined();
    expect(icmpv6ErrorQuote(udp6({ src: Ipv6Address.parse('ff02::1') }))).toBeUndefined();
    // A Fragment header: offset 0 (first) may be answered, offset 8 may not.
    const frag = (offset: number): Uint8Array => {
      const inner = udp6();
      const p = new Uint8Array(inner.length + 8);
      p.set(inner.subarray(0, 40));
      p[6] = 44; // Fragment
      p[5] = inner.length - 40 + 8;
      p.set([17, 0, offset >> 8, (offset & 0xf8) | 1, 0, 0, 0, 1], 40);
      p.set(inner.subarray(40), 48);
      return p;
    };
    expect(icmpv6ErrorQuote(frag(0))).toBeDefined();
    expect(icmpv6ErrorQuote(frag(8))).toBeUndefined();
    expect(icmpv6ErrorQuote(UDP6.subarray(0, 39))).toBeUndefined();
  });
});

describe('IcmpErrorLimiter', () => {
  it('allows a burst, then one per interval, and never saves up more than the burst', () => {
    const l = new IcmpErrorLimiter({ burst: 3, intervalMs: 100 });
    expect([l.take(0), l.take(0), l.take(0), l.take(0)]).toEqual([true, true, true, false]);
    expect(l.take(99)).toBe(false);
    expect(l.take(100)).toBe(true);
    expect(l.take(150)).toBe(false);
    expect(l.take(200)).toBe(true);
    // A long quiet spell refills to the burst only.
    const after = [0, 1, 2, 3].map(() => l.take(100_000));
    expect(after).toEqual([true, true, true, false]);
  });

  it('defaults to 10 at once, then 10 per second', () => {
    const l = new IcmpErrorLimiter();
    let n = 0;
    for (let t = 0; t < 1000; t += 1) if (l.take(t)) n++;
    expect(n).toBe(10 + 9); // the burst, then one per 100 ms from t = 100 to 900
  });
});
