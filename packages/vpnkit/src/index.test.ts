import { describe, expect, it } from 'vitest';
import * as vpnkit from './index.js';

describe('@kitbox/vpnkit public API', () => {
  it('exports the wire layer and describeFrame', () => {
    for (const name of [
      'describeFrame',
      'parseFrame',
      'WireError',
      'EthernetFrame',
      'EthernetRepr',
      'ArpPacket',
      'ArpRepr',
      'Ipv4Packet',
      'Ipv4Repr',
      'Ipv6Packet',
      'Ipv6Repr',
      'walkIpv6ExtHeaders',
      'Icmpv4Packet',
      'Icmpv4Repr',
      'Icmpv6Packet',
      'Icmpv6Repr',
      'UdpPacket',
      'UdpRepr',
      'TcpPacket',
      'TcpRepr',
      'tcpOptions',
      'DhcpPacket',
      'DhcpRepr',
      'Ipv4Address',
      'Ipv6Address',
      'EthernetAddress',
      'internetChecksum',
      'checksumUpdate16',
    ]) {
      expect(vpnkit, name).toHaveProperty(name);
    }
    expect(vpnkit.describeFrame(new Uint8Array(3))).toBe('[|ether: TRUNCATED] length 3');
  });

  it('does not export internal helpers', () => {
    expect(vpnkit).not.toHaveProperty('ensureCapacity');
    expect(vpnkit).not.toHaveProperty('assertMacLen');
    expect(vpnkit).not.toHaveProperty('getU16');
  });
});
