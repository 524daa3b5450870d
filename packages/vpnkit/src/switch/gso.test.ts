import { describe, expect, it } from 'vitest';
import { tcpFrame, tcpFrame6 } from '../nat/packet.js';
import { EthernetFrame, Ipv4Address, Ipv4Packet, Ipv6Address, Ipv6Packet, TcpFlags, TcpPacket, TcpRepr } from '../wire/index.js';
import { checksumPartial, completeTcpChecksum, segmentTcp, segmentTcpV4, wholeFrame } from './gso.js';

describe('segmentTcpV4 (software GSO)', () => {
  it('cuts a super-segment into MSS-sized, valid segments that carry the same bytes', () => {
    const src = Ipv4Address.parse('10.0.0.1');
    const dst = Ipv4Address.parse('192.168.65.3');
    const data = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 7) & 255);
    const frame = tcpFrame(src, dst, 100, {
      srcPort: 80,
      dstPort: 40000,
      seqNumber: 0xfffff000, // wraps inside the super-segment
      ackNumber: 5,
      flags: TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin,
      windowLen: 1000,
      timestamp: { tsVal: 1, tsEcr: 2 },
      payload: data,
    });
    frame[12] = 0x08; // EtherType IPv4 (the gateway writes the Ethernet header before sending)
    const segs = segmentTcpV4(frame, 1448);
    expect(segs).toHaveLength(Math.ceil(10_000 / 1448));
    const got: number[] = [];
    segs.forEach((s, i) => {
      const ip = Ipv4Packet.checked(EthernetFrame.checked(s).payload);
      expect(ip.verifyChecksum()).toBe(true);
      expect(ip.ident).toBe(100 + i);
      const tcp = TcpPacket.checked(ip.payload);
      const repr = TcpRepr.parse(tcp, src, dst); // verifies the TCP checksum
      expect(repr.seqNumber).toBe((0xfffff000 + i * 1448) >>> 0);
      expect(repr.timestamp).toEqual({ tsVal: 1, tsEcr: 2 });
      const last = i === segs.length - 1;
      expect(repr.flags & (TcpFlags.Fin | TcpFlags.Psh)).toBe(last ? TcpFlags.Fin | TcpFlags.Psh : 0);
      expect(repr.payload.length).toBe(last ? 10_000 - 1448 * (segs.length - 1) : 1448);
      got.push(...repr.payload);
    });
    expect(Uint8Array.from(got)).toEqual(data);
  });

  it('leaves small frames and non-TCP frames alone', () => {
    const f = tcpFrame(1, 2, 0, { srcPort: 1, dstPort: 2, seqNumber: 0, ackNumber: 0, flags: TcpFlags.Ack, windowLen: 0, payload: new Uint8Array(100) });
    f[12] = 0x08;
    expect(segmentTcpV4(f, 1448)).toEqual([f]);
    const junk = new Uint8Array(100);
    expect(segmentTcpV4(junk, 10)).toEqual([junk]);
  });
});

describe('segmentTcp over IPv6 (software GSO, net/ipv6/tcpv6_offload.c)', () => {
  const src = Ipv6Address.parse('fd00:192:168:65::2');
  const dst = Ipv6Address.parse('fd00:192:168:65:5054:ff:fe12:3456');
  const data = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 13) & 255);
  const seg: TcpRepr = {
    srcPort: 80,
    dstPort: 40000,
    seqNumber: 0xfffff000,
    ackNumber: 5,
    flags: TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin,
    windowLen: 1000,
    timestamp: { tsVal: 1, tsEcr: 2 },
    payload: data,
  };

  it('cuts a partial-checksum super-segment into MSS-sized segments with payload length and checksums redone', () => {
    // Whole, as the switch hands it to software GSO (a large payload travels apart from its headers).
    const frame = wholeFrame(tcpFrame6(src, dst, seg, true));
    expect(checksumPartial.has(frame)).toBe(true);
    frame[12] = 0x86;
    frame[13] = 0xdd; // EtherType IPv6 (the gateway writes the Ethernet header before sending)
    const segs = segmentTcp(frame, 1428);
    expect(segs).toHaveLength(Math.ceil(10_000 / 1428));
    const got: number[] = [];
    segs.forEach((s, i) => {
      const ip = Ipv6Packet.checked(EthernetFrame.checked(s).payload);
      expect(ip.payloadLen).toBe(s.length - 54);
      const repr = TcpRepr.parse(TcpPacket.checked(ip.payload), src, dst); // verifies the checksum
      expect(repr.seqNumber).toBe((0xfffff000 + i * 1428) >>> 0);
      const last = i === segs.length - 1;
      expect(repr.flags & (TcpFlags.Fin | TcpFlags.Psh)).toBe(last ? TcpFlags.Fin | TcpFlags.Psh : 0);
      got.push(...repr.payload);
    });
    expect(Uint8Array.from(got)).toEqual(data);
  });

  it('completes a partial checksum in place', () => {
    const frame = tcpFrame6(src, dst, { ...seg, payload: data.subarray(0, 500) }, true);
    frame[12] = 0x86;
    frame[13] = 0xdd;
    const p = TcpPacket.checked(Ipv6Packet.checked(frame.subarray(14)).payload);
    expect(p.verifyChecksum(src, dst)).toBe(false);
    completeTcpChecksum(frame);
    expect(p.verifyChecksum(src, dst)).toBe(true);
  });
});
