/**
 * Test helpers shared by the link, stack and CLI tests (not part of the package):
 * reading a byte stream in exact sizes, and a guest's DHCPDISCOVER frame.
 */
import type { Socket } from 'node:net';
import {
  DhcpMessageType,
  DhcpPacket,
  DhcpRepr,
  EtherType,
  EthernetAddress,
  EthernetFrame,
  EthernetRepr,
  IpProtocol,
  Ipv4Address,
  Ipv4Packet,
  Ipv4Repr,
  UdpPacket,
  UdpRepr,
} from '../wire/index.js';

/** Reads exactly `n` bytes at a time from a socket (one waiting read at once). */
export function socketReader(sock: Socket): (n: number) => Promise<Buffer> {
  let buf = Buffer.alloc(0);
  let want: { n: number; resolve: (b: Buffer) => void } | undefined;
  const pump = (): void => {
    if (want !== undefined && buf.length >= want.n) {
      const out = Buffer.from(buf.subarray(0, want.n));
      buf = buf.subarray(want.n);
      const w = want;
      want = undefined;
      w.resolve(out);
    }
  };
  sock.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    pump();
  });
  return (n) =>
    new Promise((resolve) => {
      want = { n, resolve };
      pump();
    });
}

/** An Ethernet frame carrying a broadcast DHCPDISCOVER from `mac`. */
export function dhcpDiscoverFrame(mac: EthernetAddress, transactionId = 42): Uint8Array {
  const dhcp: DhcpRepr = {
    messageType: DhcpMessageType.Discover,
    transactionId,
    clientHardwareAddr: mac,
    clientIp: 0,
    yourIp: 0,
    serverIp: 0,
    relayAgentIp: 0,
    broadcast: true,
  };
  const payload = new Uint8Array(DhcpRepr.bufferLen(dhcp));
  DhcpRepr.emit(dhcp, DhcpPacket.unchecked(payload));
  const udp: UdpRepr = { srcPort: 68, dstPort: 67, payload };
  const ipr: Ipv4Repr = { src: 0, dst: Ipv4Address.BROADCAST, protocol: IpProtocol.Udp, payloadLen: 8 + payload.length, ttl: 64 };
  const buf = new Uint8Array(14 + 20 + 8 + payload.length);
  EthernetRepr.emit({ src: mac, dst: EthernetAddress.BROADCAST, etherType: EtherType.Ipv4 }, EthernetFrame.unchecked(buf));
  Ipv4Repr.emit(ipr, Ipv4Packet.unchecked(buf.subarray(14)));
  UdpRepr.emit(udp, UdpPacket.unchecked(buf.subarray(34)), ipr.src, ipr.dst);
  return buf;
}
