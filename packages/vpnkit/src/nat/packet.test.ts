import { describe, expect, it } from 'vitest';
import { Ipv4Packet, Ipv4Repr, IpProtocol, TcpFlags, TcpPacket, TcpRepr, type Ipv4Address } from '../wire/index.js';
import { framePayload, wholeFrame } from '../switch/gso.js';
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
      const built = tcpFrame(src, dst, 9, seg, partial);
      // With a partial checksum the payload travels beside the headers, a view of the caller's bytes.
      expect(framePayload.get(built)).toBe(partial ? payload : undefined);
      expect(built.length).toBe(partial ? 14 + 20 + TcpRepr.headerLen(seg) : 14 + 20 + TcpRepr.bufferLen(seg));
      const f = wholeFrame(built);
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

describe('frames with the payload carried apart', () => {
  it('a gateway parks such a frame whole while it resolves the guest, and sends those bytes once resolved', async () => {
    const { Gateway } = await import('../stack/gateway.js');
    const { resolveStackConfig } = await import('../stack/config.js');
    const { ManualClock } = await import('../testing/clock.js');
    const { ArpRepr, ArpOperation, EthernetRepr, EthernetFrame, EtherType, ArpPacket } = await import('../wire/index.js');
    const config = resolveStackConfig({});
    const sent: Uint8Array[] = [];
    const gw = new Gateway(config, new ManualClock(1000), (f) => sent.push(f));
    const guest = ((config.network | 5) >>> 0) as Ipv4Address;
    const payload = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) & 255);
    const seg: TcpRepr = { srcPort: 80, dstPort: 40000, seqNumber: 1, ackNumber: 1, flags: TcpFlags.Ack, windowLen: 100, payload };
    const frame = tcpFrame(config.hostIp, guest, 1, seg, true);
    expect(framePayload.has(frame)).toBe(true);
    const expected = wholeFrame(frame).slice(14); // the IP packet as it must arrive
    expect(gw.sendIpv4Frame(guest, frame)).toBe(true);
    payload.fill(0); // the view's bytes change once the caller moves on (a send buffer is reused)
    gw.poll(); // sends the ARP request
    expect(sent.length).toBe(1);
    // The guest answers; the parked packet leaves with the bytes it had when it was sent.
    const guestMac = Uint8Array.from([2, 0, 0, 0, 0, 5]);
    const arp = new Uint8Array(14 + 28);
    EthernetRepr.emit({ src: guestMac, dst: config.gatewayMac, etherType: EtherType.Arp }, EthernetFrame.unchecked(arp));
    ArpRepr.emit(
      { operation: ArpOperation.Reply, senderHardwareAddr: guestMac, senderProtocolAddr: guest, targetHardwareAddr: config.gatewayMac, targetProtocolAddr: config.gatewayIp },
      ArpPacket.unchecked(arp.subarray(14)),
    );
    gw.input(arp);
    const out = sent.at(-1) as Uint8Array;
    expect(sent.length).toBe(2);
    expect(framePayload.has(out)).toBe(false);
    expect(Buffer.compare(out.subarray(14), expected)).toBe(0);
  });
});
