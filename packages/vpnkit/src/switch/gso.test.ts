import { describe, expect, it } from 'vitest';
import { tcpFrame } from '../nat/packet.js';
import { EthernetFrame, Ipv4Address, Ipv4Packet, TcpFlags, TcpPacket, TcpRepr } from '../wire/index.js';
import { segmentTcpV4 } from './gso.js';

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
