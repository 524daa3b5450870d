/**
 * Integration against the real Linux stack: a network namespace whose only
 * interface is a TAP this process holds, configured by busybox udhcpc from
 * our DHCP server, pinging our gateway, resolving it with ARP.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TapLink } from '../link/tap/index.js';
import { Ipv4Address } from '../wire/index.js';
import { Stack } from './stack.js';

const run = promisify(execFile);
const hasIp = existsSync('/usr/sbin/ip') || existsSync('/sbin/ip') || existsSync('/bin/ip');
const hasBusybox = existsSync('/usr/bin/busybox') || existsSync('/bin/busybox');
const isRoot = process.getuid?.() === 0;
const skipReason = !isRoot
  ? 'not root'
  : !existsSync('/dev/net/tun')
    ? '/dev/net/tun is absent'
    : !hasIp
      ? 'ip(8) is absent'
      : !hasBusybox
        ? 'busybox is absent'
        : '';
if (skipReason !== '') console.log(`netns integration test skipped: ${skipReason}`);

const suffix = `${process.pid % 10000}${Math.floor(Math.random() * 1000)}`;
const NS = `vpnkit-test-${suffix}`;
const TAP = `vkns${suffix}`.slice(0, 15);

describe.skipIf(skipReason !== '')('gateway against the Linux kernel in a netns', () => {
  let stack: Stack;
  let tap: TapLink;
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vpnkit-netns-'));
    stack = new Stack({ domainName: 'vpnkit.test', mtu: 1400, dnsServers: [Ipv4Address.parse('192.168.65.1')] });
    stack.start();
    execFileSync('ip', ['netns', 'add', NS]);
    tap = TapLink.open({ name: TAP });
    void stack.addLink(tap);
    // The fd stays valid after the interface moves to another namespace.
    execFileSync('ip', ['link', 'set', TAP, 'netns', NS]);
    execFileSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
    execFileSync('ip', ['-n', NS, 'link', 'set', TAP, 'up']);
  });

  afterAll(async () => {
    await stack?.close();
    try {
      execFileSync('ip', ['netns', 'del', NS]);
    } catch {
      /* already gone */
    }
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('udhcpc gets a lease matching the config, ping reaches the gateway, ARP resolves it', async () => {
    const script = join(dir, 'udhcpc.sh');
    writeFileSync(
      script,
      [
        '#!/bin/sh',
        'case "$1" in',
        '  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;',
        '  bound|renew)',
        '    ip addr add "$ip/$subnet" dev "$interface"',
        '    ip route add default via "$router" dev "$interface"',
        '    echo "LEASE ip=$ip subnet=$subnet router=$router dns=$dns domain=$domain mtu=$mtu lease=$lease serverid=$serverid"',
        '    ;;',
        'esac',
        'exit 0',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const dhcp = await run(
      'ip',
      ['netns', 'exec', NS, 'busybox', 'udhcpc', '-i', TAP, '-n', '-q', '-f', '-s', script, '-O', 'mtu', '-t', '5', '-T', '2'],
      { timeout: 30_000 },
    );
    const line = dhcp.stdout.split('\n').find((l) => l.startsWith('LEASE ')) ?? '';
    console.log(line);
    expect(line).toContain('ip=192.168.65.3 ');
    expect(line).toContain('subnet=255.255.255.0 ');
    expect(line).toContain('router=192.168.65.1 ');
    expect(line).toMatch(/dns=192\.168\.65\.1\s/);
    expect(line).toContain('domain=vpnkit.test ');
    expect(line).toContain('mtu=1400 ');
    expect(line).toContain('lease=7200 ');
    expect(line).toContain('serverid=192.168.65.1');

    const addr = execFileSync('ip', ['-n', NS, '-4', 'addr', 'show', TAP]).toString();
    expect(addr).toContain('inet 192.168.65.3/24');

    const ping = await run('ip', ['netns', 'exec', NS, 'busybox', 'ping', '-c', '3', '-W', '2', '192.168.65.1'], {
      timeout: 20_000,
    });
    console.log(ping.stdout.trim().split('\n').slice(-2).join('\n'));
    expect(ping.stdout).toContain('3 packets transmitted, 3 packets received');

    // The host alias answers too.
    const ping2 = await run('ip', ['netns', 'exec', NS, 'busybox', 'ping', '-c', '1', '-W', '2', '192.168.65.2'], {
      timeout: 10_000,
    });
    expect(ping2.stdout).toContain('1 packets received');

    const neigh = execFileSync('ip', ['-n', NS, 'neigh', 'show', 'dev', TAP]).toString();
    console.log(neigh.trim());
    expect(neigh).toMatch(/192\.168\.65\.1 lladdr f6:16:36:bc:f9:c6 (REACHABLE|STALE|DELAY|PROBE)/);

    const s = stack.stats();
    console.log(
      `gateway: frames=${s.gateway.frames} malformed=${s.gateway.malformed} unhandled=${s.gateway.unhandled} ` +
        `dhcp offers=${s.gateway.dhcp.offers} acks=${s.gateway.dhcp.acks} icmp replies=${s.gateway.icmp.replies} ` +
        `arp answered=${s.gateway.arp.requestsAnswered}`,
    );
    expect(s.gateway.dhcp.acks).toBeGreaterThanOrEqual(1);
    expect(s.gateway.icmp.replies).toBeGreaterThanOrEqual(4);
    expect(s.gateway.malformed).toBe(0);
    // The gateway learned the guest's binding from the ACK / ARP traffic.
    expect(stack.gateway.arp.resolve(stack.clock.now(), Ipv4Address.parse('192.168.65.3'))).toBeDefined();
  }, 60_000);
});
