/**
 * DNS through the stack against real resolvers: in a namespace served by vpnkit over a
 * TAP, `dig` asks the gateway (192.168.65.1) over UDP and TCP; the forwarder answers from
 * a hosts file, its built-in names, and an upstream server the test runs on loopback.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { netnsSkipReason, startNetnsGuest, type NetnsGuest } from '../stack/netns.fixture.js';
import { Stack } from '../stack/stack.js';
import { DnsForwarder } from './forwarder.js';
import { TestUpstream } from './upstream.fixture.js';

const skip = netnsSkipReason !== '' ? netnsSkipReason : existsSync('/usr/bin/dig') ? '' : 'dig is absent (bind9-dnsutils)';
if (skip !== '') console.log(`DNS netns test skipped: ${skip}`);

describe.skipIf(skip !== '')('DNS on the gateway, asked by dig in a netns', () => {
  let stack: Stack;
  let guest: NetnsGuest;
  let upstream: TestUpstream;
  let dir: string;
  let dns: DnsForwarder;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vpnkit-dns-'));
    writeFileSync(join(dir, 'hosts'), '# test hosts\n10.9.8.7 from-hosts.test alias.test\n');
    upstream = await TestUpstream.start();
    dns = new DnsForwarder({
      upstreams: [upstream.address],
      hosts: join(dir, 'hosts'),
      names: { 'host.docker.internal': ['192.168.65.2'], 'gateway.docker.internal': ['192.168.65.1'] },
    });
    stack = new Stack({ dns });
    stack.start();
    guest = await startNetnsGuest(stack);
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
    await guest?.close();
    dns?.close();
    await upstream?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const dig = async (...args: string[]): Promise<string> => {
    const r = await guest.exec(['dig', '@192.168.65.1', '+time=3', '+tries=2', '+short', ...args], { timeoutMs: 20_000 });
    expect(r.stderr).toBe('');
    return r.stdout.trim();
  };

  it('answers from the hosts file, the built-in names and the upstream, over UDP and TCP', async () => {
    expect(await dig('from-hosts.test')).toBe('10.9.8.7');
    expect(await dig('ALIAS.test')).toBe('10.9.8.7');
    expect(await dig('host.docker.internal')).toBe('192.168.65.2');
    expect(await dig('gateway.docker.internal')).toBe('192.168.65.1');
    expect(await dig('a.example.test')).toBe('10.0.0.1');
    expect(await dig('+tcp', 'a.example.test', 'TXT')).toBe('"hello"');
    expect(await dig('+tcp', 'host.docker.internal')).toBe('192.168.65.2');
    // A long answer: truncated over UDP, dig retries over TCP by itself.
    const big = await dig('big.example.test', 'TXT');
    expect(big.split('"').filter((s) => s.startsWith('19')).length).toBe(1);
    // busybox nslookup (the resolver most minimal guests have) sees the same.
    const ns = await guest.exec(['busybox', 'nslookup', 'host.docker.internal', '192.168.65.1'], { timeoutMs: 20_000 });
    expect(ns.stdout).toContain('192.168.65.2');
    expect(dns.stats().forwarded).toBeGreaterThanOrEqual(2);
  }, 60_000);
});
