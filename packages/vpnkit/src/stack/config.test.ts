import { describe, expect, it } from 'vitest';
import { Ipv4Address, Ipv6Address } from '../wire/index.js';
import { resolveStackConfig, STACK_DEFAULTS } from './config.js';

const fmt = Ipv6Address.format;

describe('resolveStackConfig', () => {
  it('keeps the IPv4 defaults and adds IPv6 ones in a ULA /64', () => {
    const c = resolveStackConfig();
    expect(Ipv4Address.format(c.gatewayIp)).toBe('192.168.65.1');
    expect(c.dnsServers).toEqual([c.gatewayIp]);
    expect(c.ipv6).toBe(true);
    expect([fmt(c.ipv6Prefix), c.ipv6PrefixLen, fmt(c.gatewayIpv6), fmt(c.hostIpv6)]).toEqual([
      'fd00:192:168:65::',
      64,
      'fd00:192:168:65::1',
      'fd00:192:168:65::2',
    ]);
    expect(c.dnsServersV6.map(fmt)).toEqual(['fd00:192:168:65::1']);
    expect(c.ipv6Prefix[0]! & 0xfe).toBe(0xfc); // RFC 4193 fc00::/7
    expect(STACK_DEFAULTS.ipv6).toBe(true);
  });

  it('moves the gateway, host alias and DNS with a new prefix (host bits cleared), unless they are given', () => {
    const c = resolveStackConfig({ ipv6Prefix: Ipv6Address.parse('fd12:3456:789a:1:ffff::9') });
    expect([fmt(c.ipv6Prefix), fmt(c.gatewayIpv6), fmt(c.hostIpv6), c.dnsServersV6.map(fmt)]).toEqual([
      'fd12:3456:789a:1::',
      'fd12:3456:789a:1::1',
      'fd12:3456:789a:1::2',
      ['fd12:3456:789a:1::1'],
    ]);
    const d = resolveStackConfig({ ipv6Prefix: Ipv6Address.parse('fd12::'), hostIpv6: Ipv6Address.parse('fd12::99') });
    expect(fmt(d.hostIpv6)).toBe('fd12::99');
  });

  it('refuses prefixes other than /64, and turns IPv6 off below a 1280-byte MTU unless it was asked for', () => {
    expect(() => resolveStackConfig({ ipv6PrefixLen: 48 })).toThrow(/64/);
    expect(resolveStackConfig({ mtu: 576 }).ipv6).toBe(false);
    expect(() => resolveStackConfig({ mtu: 576, ipv6: true })).toThrow(/1280/);
    expect(resolveStackConfig({ mtu: 1280 }).ipv6).toBe(true);
  });
});
