import { describe, expect, it } from 'vitest';
import * as vpnkit from '../index.js';

describe('@kitbox/vpnkit public API: stack, links, test kit', () => {
  it('exports what the README documents', () => {
    for (const name of [
      'Arp',
      'ArpCache',
      'DhcpServer',
      'DHCP_DEFAULTS',
      'IcmpEcho',
      'Icmpv6Echo',
      'Ndp',
      'NeighborCache',
      'Switch',
      'FrameQueue',
      'MacTable',
      'createLinkPair',
      'StreamLink',
      'QemuStreamServer',
      'VmnetServer',
      'defaultVif',
      'dnsTcpService',
      'encodeInit',
      'decodeCommand',
      'encodeVif',
      'TapLink',
      'Stack',
      'Gateway',
      'STACK_DEFAULTS',
      'systemClock',
      'ManualClock',
      'PcapWriter',
      // the wire layer is still there
      'parseFrame',
      'describeFrame',
    ]) {
      expect(vpnkit, name).toHaveProperty(name);
    }
  });

  it('keeps internals private', () => {
    expect(vpnkit).not.toHaveProperty('PendingQueueInternal');
    expect(vpnkit).not.toHaveProperty('ensureCapacity');
  });
});
