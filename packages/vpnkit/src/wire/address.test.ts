import { describe, expect, it } from 'vitest';
import { EthernetAddress, IpAddress, Ipv4Address, Ipv6Address } from './address.js';
import { bytesToHex } from './bytes.js';
import { WireError } from './error.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof WireError) return e.code;
    throw e;
  }
  return 'OK';
}

describe('Ipv4Address', () => {
  it('parses and formats dotted quads as uint32', () => {
    expect(Ipv4Address.parse('192.168.65.1')).toBe(0xc0a84101);
    expect(Ipv4Address.parse('0.0.0.0')).toBe(0);
    expect(Ipv4Address.parse('255.255.255.255')).toBe(0xffffffff);
    expect(Ipv4Address.format(0xc0a84101)).toBe('192.168.65.1');
    expect(Ipv4Address.format(0xffffffff)).toBe('255.255.255.255');
    expect(Ipv4Address.format(Ipv4Address.parse('10.0.2.15'))).toBe('10.0.2.15');
  });

  it.each(['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.-4', ' 1.2.3.4', '1.2.3.4 ', '1..2.3', '0x1.2.3.4', '1.2.3.4/24', '١.2.3.4'])(
    'rejects %j',
    (text) => {
      expect(codeOf(() => Ipv4Address.parse(text))).toBe('BAD_ADDRESS');
    },
  );

  it('converts to and from bytes', () => {
    expect(bytesToHex(Ipv4Address.toBytes(0xc0a84101))).toBe('c0a84101');
    expect(Ipv4Address.fromBytes(Uint8Array.of(9, 0xc0, 0xa8, 0x41, 0x01), 1)).toBe(0xc0a84101);
  });

  it('classifies addresses', () => {
    const p = Ipv4Address.parse;
    expect(Ipv4Address.isMulticast(p('224.0.0.251'))).toBe(true);
    expect(Ipv4Address.isMulticast(p('239.255.255.250'))).toBe(true);
    expect(Ipv4Address.isMulticast(p('240.0.0.1'))).toBe(false);
    expect(Ipv4Address.isBroadcast(p('255.255.255.255'))).toBe(true);
    expect(Ipv4Address.isLoopback(p('127.0.0.1'))).toBe(true);
    expect(Ipv4Address.isLinkLocal(p('169.254.1.1'))).toBe(true);
    expect(Ipv4Address.isUnspecified(0)).toBe(true);
    expect(Ipv4Address.isUnicast(p('192.168.65.2'))).toBe(true);
    expect(Ipv4Address.isUnicast(p('224.0.0.1'))).toBe(false);
  });

  it('handles netmasks and subnets', () => {
    expect(Ipv4Address.netmask(24)).toBe(0xffffff00);
    expect(Ipv4Address.netmask(0)).toBe(0);
    expect(Ipv4Address.netmask(32)).toBe(0xffffffff);
    expect(Ipv4Address.netmask(1)).toBe(0x80000000);
    expect(Ipv4Address.prefixLen(0xffffff00)).toBe(24);
    expect(Ipv4Address.prefixLen(0)).toBe(0);
    expect(Ipv4Address.prefixLen(0xffffffff)).toBe(32);
    expect(Ipv4Address.prefixLen(0xff00ff00)).toBe(-1);
    expect(Ipv4Address.inSubnet(Ipv4Address.parse('192.168.65.7'), Ipv4Address.parse('192.168.65.0'), 24)).toBe(true);
    expect(Ipv4Address.inSubnet(Ipv4Address.parse('192.168.66.7'), Ipv4Address.parse('192.168.65.0'), 24)).toBe(false);
  });

  it('maps multicast groups to MACs (RFC 1112 §6.4)', () => {
    expect(EthernetAddress.format(Ipv4Address.multicastMac(Ipv4Address.parse('224.0.0.251')))).toBe('01:00:5e:00:00:fb');
    expect(EthernetAddress.format(Ipv4Address.multicastMac(Ipv4Address.parse('239.255.255.250')))).toBe(
      '01:00:5e:7f:ff:fa',
    );
  });
});

describe('Ipv6Address', () => {
  // RFC 5952 §4 recommendations, each with the section it exercises.
  it.each([
    ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'], // §4.1 leading zeros, §4.2.1 longest
    ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
    ['2001:db8::0:1', '2001:db8::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // §4.2.2 a single 0 field is not shortened
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // §4.2.3 the longest run is shortened
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // §4.2.3 first of equal runs
    ['2001:DB8::A:B:C', '2001:db8::a:b:c'], // §4.3 lower case
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['fe80::1', 'fe80::1'],
    ['FE80:0000:0000:0000:0050:00FF:FE00:0001', 'fe80::50:ff:fe00:1'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'], // '::' for one group parses; never formatted so
    ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
    ['1:0:1:0:1:0:1:0', '1:0:1:0:1:0:1:0'],
    ['ff02::1:ff00:1', 'ff02::1:ff00:1'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'], // §5 IPv4-mapped in mixed notation
    ['::ffff:c000:0201', '::ffff:192.0.2.1'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'], // other embedded-v4 prefixes print as hex
    ['::192.0.2.1', '::c000:201'],
  ])('%s -> %s', (input, canonical) => {
    const a = Ipv6Address.parse(input);
    expect(a.length).toBe(16);
    expect(Ipv6Address.format(a)).toBe(canonical);
    expect(Ipv6Address.equals(Ipv6Address.parse(canonical), a)).toBe(true);
  });

  it.each([
    '',
    ':',
    ':::',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1::2:3:4:5:6:7:8',
    '12345::',
    'g::',
    '::1%eth0',
    '1.2.3.4::',
    '::1.2.3',
    '::256.1.1.1',
    ':1::',
    '1::2:',
    '::ffff:1.2.3.4:5',
    '1:2:3:4:5:6:7:1.2.3.4',
    ' ::1',
  ])('rejects %j', (text) => {
    expect(codeOf(() => Ipv6Address.parse(text))).toBe('BAD_ADDRESS');
  });

  it('round-trips random addresses with zero runs', () => {
    let seed = 7;
    const next = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 16;
    };
    for (let i = 0; i < 2000; i++) {
      const a = new Uint8Array(16);
      for (let g = 0; g < 8; g++) {
        const v = next() % 3 === 0 ? 0 : next();
        a[2 * g] = v >> 8;
        a[2 * g + 1] = v & 0xff;
      }
      expect(Ipv6Address.equals(Ipv6Address.parse(Ipv6Address.format(a)), a)).toBe(true);
    }
  });

  it('derives solicited-node, multicast MAC and link-local addresses', () => {
    const ll = Ipv6Address.linkLocalFromMac(EthernetAddress.parse('02:50:00:00:00:01'));
    expect(Ipv6Address.format(ll)).toBe('fe80::50:ff:fe00:1');
    const sn = Ipv6Address.solicitedNode(ll);
    expect(Ipv6Address.format(sn)).toBe('ff02::1:ff00:1');
    expect(EthernetAddress.format(Ipv6Address.multicastMac(sn))).toBe('33:33:ff:00:00:01');
  });

  it('classifies addresses', () => {
    const p = Ipv6Address.parse;
    expect(Ipv6Address.isLinkLocal(p('fe80::1'))).toBe(true);
    expect(Ipv6Address.isLinkLocal(p('febf::1'))).toBe(true);
    expect(Ipv6Address.isLinkLocal(p('fec0::1'))).toBe(false);
    expect(Ipv6Address.isMulticast(p('ff02::1'))).toBe(true);
    expect(Ipv6Address.isUnspecified(p('::'))).toBe(true);
    expect(Ipv6Address.isLoopback(p('::1'))).toBe(true);
    expect(Ipv6Address.isIpv4Mapped(p('::ffff:1.2.3.4'))).toBe(true);
    expect(Ipv6Address.format(Ipv6Address.LINK_LOCAL_ALL_NODES)).toBe('ff02::1');
    expect(Ipv6Address.format(Ipv6Address.LINK_LOCAL_ALL_ROUTERS)).toBe('ff02::2');
  });

  it('formats a wrong-length array without throwing', () => {
    expect(Ipv6Address.format(new Uint8Array(3))).toBe('<bad ipv6 length 3>');
  });
});

describe('EthernetAddress', () => {
  it('parses and formats', () => {
    const a = EthernetAddress.parse('02:50:00:00:00:01');
    expect(bytesToHex(a)).toBe('025000000001');
    expect(EthernetAddress.format(a)).toBe('02:50:00:00:00:01');
    expect(EthernetAddress.format(EthernetAddress.parse('AA-BB-CC-DD-EE-0F'))).toBe('aa:bb:cc:dd:ee:0f');
  });

  it.each(['', '02:50:00:00:00', '02:50:00:00:00:01:02', '02:50-00:00:00:01', '2:50:0:0:0:1', 'g2:50:00:00:00:01', '0250.0000.0001'])(
    'rejects %j',
    (text) => {
      expect(codeOf(() => EthernetAddress.parse(text))).toBe('BAD_ADDRESS');
    },
  );

  it('classifies addresses', () => {
    expect(EthernetAddress.isBroadcast(EthernetAddress.BROADCAST)).toBe(true);
    expect(EthernetAddress.isMulticast(EthernetAddress.parse('33:33:00:00:00:01'))).toBe(true);
    expect(EthernetAddress.isUnicast(EthernetAddress.parse('02:50:00:00:00:01'))).toBe(true);
    expect(EthernetAddress.isLocal(EthernetAddress.parse('02:50:00:00:00:01'))).toBe(true);
    expect(EthernetAddress.equals(EthernetAddress.parse('02:50:00:00:00:01'), EthernetAddress.ZERO)).toBe(false);
  });
});

describe('IpAddress', () => {
  it('dispatches on the family', () => {
    expect(IpAddress.format(IpAddress.parse('10.0.0.1'))).toBe('10.0.0.1');
    expect(IpAddress.format(IpAddress.parse('fd00::1'))).toBe('fd00::1');
    expect(IpAddress.isIpv4(1)).toBe(true);
    expect(IpAddress.equals(IpAddress.parse('fd00::1'), Ipv6Address.parse('fd00:0::1'))).toBe(true);
    expect(IpAddress.equals(1, Ipv6Address.parse('::1'))).toBe(false);
  });
});
