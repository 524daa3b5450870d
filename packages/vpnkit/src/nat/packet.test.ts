import { describe, expect, it } from 'vitest';
import { Ipv4Packet, Ipv4Repr, IpProtocol, TcpFlags, TcpPacket, TcpRepr, type Ipv4Address } from '../wire/index.js';
import { tcpFrame, tcpFrame6 } from './packet.js';

describe('tcpFrame storage', () => {
  it('a large segment (storage not zero-filled) has exactly the bytes of one built in zeroed memory', () => {
    // Leave dirty memory behind for the allocator to hand out again.
    for (let i = 0; i < 64; i++) Buffer.allocUnsafeSlow(70_000).fill(0xa5);
    const src = 0x0a000001 as Ipv4Address;
    const dst = 0xc0a84103 as Ipv4Address;
    const payload = Uint8Array.from({ length: 60_000 }, (_, i) => (i * 13) & 255);
    const seg: TcpRepr = {
      srcPort: 443,
      dstPort: 50000,
      seqNumber: 1,
      ackNumber: 2,
      flags: TcpFlags.Ack | TcpFlags.Psh,
      windowLen: 512,
      timestamp: { tsVal: 3, tsEcr: 4 },
      sackBlocks: [{ left: 10, right: 20 }],
      payload,
    };
    for (const partial of [false, true]) {
      const f = tcpFrame(src, dst, 9, seg, partial);
      expect(f).toBeInstanceOf(Uint8Array);
      expect(Buffer.isBuffer(f)).toBe(false); // slice() copies, as on any frame
      const tcpLen = TcpRepr.bufferLen(seg);
      const ref = new Uint8Array(f.length);
      Ipv4Repr.emit({ src, dst, protocol: IpProtocol.Tcp, payloadLen: tcpLen, ttl: 64, ident: 9, dontFrag: true }, Ipv4Packet.unchecked(ref.subarray(14)));
      TcpRepr.emit(seg, TcpPacket.unchecked(ref.subarray(34)), src, dst, partial ? { fillChecksum: false } : undefined);
      if (partial) ref.set(f.subarray(34 + 16, 34 + 18), 34 + 16); // the pseudo-header seed, checked elsewhere
      expect(Buffer.compare(f, ref)).toBe(0);
    }
    const f6 = tcpFrame6(new Uint8Array(16).fill(1), new Uint8Array(16).fill(2), seg);
    expect(f6.subarray(0, 14).every((b) => b === 0)).toBe(true); // Ethernet header left for the gateway, zeroed
  });
});
