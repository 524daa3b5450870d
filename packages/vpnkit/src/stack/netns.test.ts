/**
 * Integration against the real Linux stack: a network namespace whose only
 * interface is a TAP this process holds, configured by busybox udhcpc from
 * our DHCP server, pinging our gateway, resolving it with ARP.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ipv4Address } from '../wire/index.js';
import { netnsSkipReason, startNetnsGuest, type NetnsGuest } from './netns.fixture.js';
import { Stack } from './stack.js';

if (netnsSkipReason !== '') console.log(`netns integration test skipped: ${netnsSkipReason}`);

describe.skipIf(netnsSkipReason !== '')('gateway against the Linux kernel in a netns', () => {
  let stack: Stack;
  let guest: NetnsGuest;

  beforeAll(async () => {
    stack = new Stack({ domainName: 'vpnkit.test', mtu: 1400, dnsServers: [Ipv4Address.parse('192.168.65.1')] });
    stack.start();
    guest = await startNetnsGuest(stack);
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
    await guest?.close();
  });

  it('udhcpc gets a lease matching the config, ping reaches the gateway, ARP resolves it', async () => {
    const line = guest.lease;
    console.log(line);
    expect(line).toContain('ip=192.168.65.3 ');
    expect(line).toContain('subnet=255.255.255.0 ');
    expect(line).toContain('router=192.168.65.1 ');
    expect(line).toMatch(/dns=192\.168\.65\.1\s/);
    expect(line).toContain('domain=vpnkit.test ');
    expect(line).toContain('mtu=1400 ');
    expect(line).toContain('lease=7200 ');
    expect(line).toContain('serverid=192.168.65.1');

    const addr = execFileSync('ip', ['-n', guest.ns, '-4', 'addr', 'show', guest.tap]).toString();
    expect(addr).toContain('inet 192.168.65.3/24');

    const ping = await guest.exec(['busybox', 'ping', '-c', '3', '-W', '2', '192.168.65.1'], { timeoutMs: 20_000 });
    console.log(ping.stdout.trim().split('\n').slice(-2).join('\n'));
    expect(ping.stdout).toContain('3 packets transmitted, 3 packets received');

    // The host alias answers too.
    const ping2 = await guest.exec(['busybox', 'ping', '-c', '1', '-W', '2', '192.168.65.2'], { timeoutMs: 10_000 });
    expect(ping2.stdout).toContain('1 packets received');

    const neigh = execFileSync('ip', ['-n', guest.ns, 'neigh', 'show', 'dev', guest.tap]).toString();
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
