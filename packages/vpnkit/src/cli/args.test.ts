import { describe, expect, it } from 'vitest';
import { Ipv4Address, Ipv6Address } from '../wire/index.js';
import { parseArgs, UsageError } from './args.js';

describe('vpnkit flags', () => {
  it('parses links, services and network settings', () => {
    const o = parseArgs([
      '--ethernet', 'unix:/tmp/e.sock', '--qemu=unix:/tmp/q.sock', '--tap', 'vk0', '--port-control', 'unix:/tmp/p.sock',
      '--forward', 'tcp:127.0.0.1:8080:192.168.65.3:80', '--dns', '127.0.0.53', '--dns', '10.0.0.1:5353',
      '--hosts', '/etc/hosts', '--pcap', '/tmp/x.pcap', '--subnet', '10.10.0.0/16', '--mtu', '9000', '--domain', 'vm.test',
    ]);
    expect(o).toMatchObject({
      ethernet: ['/tmp/e.sock'],
      qemu: ['/tmp/q.sock'],
      tap: ['vk0'],
      portControl: '/tmp/p.sock',
      forwards: [{ proto: 'tcp', hostIp: '127.0.0.1', hostPort: 8080, guestIp: '192.168.65.3', guestPort: 80 }],
      dns: [{ host: '127.0.0.53', port: 53 }, { host: '10.0.0.1', port: 5353 }],
      hosts: '/etc/hosts',
      pcap: '/tmp/x.pcap',
      network: Ipv4Address.parse('10.10.0.0'),
      prefixLen: 16,
      mtu: 9000,
      domain: 'vm.test',
    });
  });

  it('parses --tcp-buffer-memory (MiB)', () => {
    expect(parseArgs(['--tap', 'vk0', '--tcp-buffer-memory', '64']).tcpBufferMiB).toBe(64);
    expect(parseArgs(['--tap', 'vk0']).tcpBufferMiB).toBeUndefined();
  });

  it('parses the IPv6 flags', () => {
    const o = parseArgs(['--tap', 'vk0', '--ipv6-prefix', 'fd12:3456:789a:1::/64', '--no-ipv6']);
    expect(o.ipv6Prefix && Ipv6Address.format(o.ipv6Prefix)).toBe('fd12:3456:789a:1::');
    expect(o.noIpv6).toBe(true);
    for (const bad of ['fd12::/48', 'fd12::1/64', 'fe80::/64', 'ff02::/64', '::/64', 'nope/64']) {
      expect(() => parseArgs(['--tap', 'vk0', '--ipv6-prefix', bad]), bad).toThrow(/--ipv6-prefix/);
    }
  });

  it('takes IPv6 addresses in brackets in --forward, either side', () => {
    const o = parseArgs(['--tap', 'vk0', '--forward', 'tcp:[::1]:8080:[fd00:192:168:65::3]:80', '--forward', 'udp:127.0.0.1:5353:[fd00:192:168:65::3]:53']);
    expect(o.forwards).toEqual([
      { proto: 'tcp', hostIp: '::1', hostPort: 8080, guestIp: 'fd00:192:168:65::3', guestPort: 80 },
      { proto: 'udp', hostIp: '127.0.0.1', hostPort: 5353, guestIp: 'fd00:192:168:65::3', guestPort: 53 },
    ]);
  });

  it('--help and --version need no link', () => {
    expect(parseArgs(['--help']).help).toBe(true);
    expect(parseArgs(['--version']).version).toBe(true);
  });

  it.each([
    [[], /no link/],
    [['--tap'], /--tap needs a value/],
    [['--ethernet', '/tmp/x'], /expected unix:PATH/],
    [['--tap', 'x'.repeat(16)], /interface name/],
    [['--tap', 'a', '--forward', 'tcp:1.2.3.4:80:5.6.7.8'], /--forward: expected/],
    [['--tap', 'a', '--forward', 'tcp:::1:80:5.6.7.8:80'], /--forward: expected/],
    [['--tap', 'a', '--forward', 'tcp:[::g]:80:5.6.7.8:80'], /not an IPv6 address/],
    [['--tap', 'a', '--forward', 'udp:[::1]:80:[1.2.3.4]:80'], /not an IPv6 address/],
    [['--tap', 'a', '--forward', 'tcp:1.2.3.4:99999:5.6.7.8:80'], /not a port/],
    [['--tap', 'a', '--dns', 'resolver.example'], /not an IPv4 address/],
    [['--tap', 'a', '--subnet', '10.0.0.1/24'], /host bits/],
    [['--tap', 'a', '--subnet', '10.0.0.0/31'], /N in 8..30/],
    [['--tap', 'a', '--mtu', '100'], /576..65520/],
    [['--tap', 'a', '--tcp-buffer-memory', '0'], /1..65536/],
    [['--tap', 'a', '--tcp-buffer-memory', '12.5'], /1..65536/],
    [['--tap', 'a', '--bogus'], /unknown option/],
  ])('%j is a usage error', (argv, msg) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(msg);
  });
});
