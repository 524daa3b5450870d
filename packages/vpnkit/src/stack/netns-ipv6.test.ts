/**
 * IPv6 against the Linux kernel: a namespace whose only interface is a TAP
 * served by the stack.  The kernel configures itself from our Router
 * Advertisements (SLAAC address in the prefix, default route via the
 * gateway's link-local, MTU), pings the gateway, and reaches servers on the
 * host's ::1 through the IPv6 host alias (TCP with curl, UDP with busybox nc).
 */
import { createHash, randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type * as net from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { netnsSkipReason, startNetnsGuest, startTransferServer, type NetnsGuest } from './netns.fixture.js';
import { Stack } from './stack.js';

const hasLoopback6 = ((): boolean => {
  try {
    return execFileSync('ip', ['-6', 'addr', 'show', 'dev', 'lo']).toString().includes('::1/128');
  } catch {
    return false;
  }
})();
const skip = netnsSkipReason !== '' ? netnsSkipReason : !hasLoopback6 ? 'the host has no ::1' : '';
if (skip !== '') console.log(`IPv6 netns tests skipped: ${skip}`);

const PREFIX = 'fd00:192:168:65:';
const GW6 = 'fd00:192:168:65::1';
const HOST6 = 'fd00:192:168:65::2';
const GW_LL = 'fe80::f416:36ff:febc:f9c6';

async function until<T>(what: string, ms: number, fn: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const MiB = 1024 * 1024;
const block = randomBytes(MiB);

// Only on the host's IPv6 loopback: nothing but the IPv6 host alias can reach it.
const startHttp6 = (): ReturnType<typeof startTransferServer> => startTransferServer({ host: '::1', block, reportPeer: true });

// With TAP offload (our TCP super-segments go to the kernel whole as GSO TCPV6, its TSO6 segments
// come to us) and without (the switch cuts them and finishes the checksums).
describe.skipIf(skip !== '').each([{ offload: true }, { offload: false }])('IPv6 against the Linux kernel in a netns (offload: $offload)', ({ offload }) => {
  let stack: Stack;
  let guest: NetnsGuest;
  let addr6: string;
  let http: { server: HttpServer; port: number };

  beforeAll(async () => {
    stack = new Stack({ mtu: 1500 });
    stack.start();
    guest = await startNetnsGuest(stack, { offload });
    http = await startHttp6();
    // SLAAC: link-local DAD (~1 s), RS, our RA, then DAD of the new address (~1 s).
    addr6 = await until('a SLAAC address', 20_000, async () => {
      const r = await guest.exec(['ip', '-6', '-o', 'addr', 'show', 'dev', guest.tap, 'scope', 'global']);
      const m = /inet6 (fd00:192:168:65:[0-9a-f:]+)\/64 .*?(tentative)?/.exec(r.stdout);
      return m !== null && !r.stdout.includes('tentative') ? m[1] : undefined;
    });
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
    await guest?.close();
    http?.server.close();
  });

  // The RA's MTU and RDNSS options are checked byte for byte in ipv6.test.ts (the kernel ignores RDNSS itself).
  it('SLAAC: an address in the prefix and a default route via the gateway link-local, from our RA', async () => {
    console.log(`guest IPv6 address ${addr6}`);
    expect(addr6.startsWith(PREFIX)).toBe(true);
    const route = await guest.exec(['ip', '-6', 'route', 'show', 'default']);
    console.log(route.stdout.trim());
    expect(route.stdout).toContain(`default via ${GW_LL} dev ${guest.tap} proto ra`);
    const prefixRoute = await guest.exec(['ip', '-6', 'route', 'show', 'fd00:192:168:65::/64']);
    expect(prefixRoute.stdout).toContain('proto kernel');
    const s = stack.stats().gateway.ndp;
    expect(s.routerSolicitations).toBeGreaterThanOrEqual(1);
    expect(s.advertisementsSent).toBeGreaterThanOrEqual(1);
    expect(s.invalid).toBe(0);
  });

  it('ping -6 reaches the gateway (global and link-local) and the host alias; the kernel has our MAC', async () => {
    for (const target of [GW6, HOST6, `${GW_LL}%${guest.tap}`]) {
      const ping = await guest.exec(['busybox', 'ping', '-6', '-c', '2', '-W', '2', target], { timeoutMs: 15_000 });
      expect(ping.stdout, `${target}: ${ping.stdout} ${ping.stderr}`).toContain('2 packets transmitted, 2 packets received');
    }
    const neigh = await guest.exec(['ip', '-6', 'neigh', 'show', 'dev', guest.tap]);
    console.log(neigh.stdout.trim());
    expect(neigh.stdout).toMatch(new RegExp(`${GW_LL} lladdr f6:16:36:bc:f9:c6 router`));
    expect(stack.stats().gateway.icmp6.replies).toBeGreaterThanOrEqual(6);
    expect(stack.stats().gateway.malformed).toBe(0);
  }, 60_000);

  it('curl -6 moves 10 MiB each way between the namespace and the host\'s ::1 through the IPv6 host alias (sha256 checked)', async () => {
    const mib = 10;
    const h = createHash('sha256');
    for (let i = 0; i < mib; i++) h.update(block);
    const url = `http://[${HOST6}]:${http.port}`;
    const down = await guest.exec(['sh', '-c', `curl -6 -g -sS --max-time 60 '${url}/download?mib=${mib}' | sha256sum`], { timeoutMs: 90_000 });
    expect(down.stderr).toBe('');
    expect(down.stdout.split(' ')[0]).toBe(h.digest('hex'));
    console.log(`IPv6 download ${mib} MiB (offload ${offload}): ${down.ms.toFixed(0)} ms`);

    const up = await guest.exec(
      ['sh', '-c', `head -c ${mib * MiB} /dev/urandom | tee ${guest.dir}/up6.bin | curl -6 -g -sS --max-time 60 -T - '${url}/upload'; sha256sum ${guest.dir}/up6.bin`],
      { timeoutMs: 90_000 },
    );
    expect(up.stderr).toBe('');
    const [answer, local] = up.stdout.trim().split('\n');
    const [sum, bytes, peer] = (answer ?? '').split(' ');
    expect(sum).toBe(local?.split(' ')[0]);
    expect(bytes).toBe(String(mib * MiB));
    expect(peer).toBe('::1'); // the host saw a connection from its own IPv6 loopback
    console.log(`IPv6 upload ${mib} MiB (offload ${offload}): ${up.ms.toFixed(0)} ms`);
  }, 120_000);

  it('a closed port on ::1 is refused at once over IPv6', async () => {
    const probe = createHttpServer();
    const port = await new Promise<number>((r) => probe.listen(0, '::1', () => r((probe.address() as net.AddressInfo).port)));
    await new Promise<void>((r) => probe.close(() => r()));
    const r = await guest.exec(['curl', '-6', '-g', '-sS', '--max-time', '10', `http://[${HOST6}]:${port}/`], { timeoutMs: 20_000 });
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/Connection refused|Couldn't connect/);
    expect(r.ms).toBeLessThan(5000);
  }, 30_000);

  it('ping -6 beyond the gateway goes out through a host ICMPv6 socket and comes back', async () => {
    // A global address of the host itself (not in the guests' prefix): the ping stays on this machine.
    const hostAddr = Object.values(networkInterfaces())
      .flat()
      .find((x) => x !== undefined && x.family === 'IPv6' && !x.internal && !x.address.startsWith('fe80') && !x.address.startsWith(PREFIX))?.address;
    if (hostAddr === undefined) {
      console.log('ping -6 through the host skipped: the host has no global IPv6 address');
      return;
    }
    const r = await guest.exec(['busybox', 'ping', '-6', '-c', '3', '-W', '2', hostAddr], { timeoutMs: 20_000 });
    console.log(`ping -6 ${hostAddr}: ${r.stdout.trim().split('\n').slice(-2).join(' | ')}`);
    expect(r.stdout).toContain('3 packets transmitted, 3 packets received');
    expect(stack.stats().icmp.replies).toBeGreaterThanOrEqual(3);
  }, 30_000);

  it('UDP to a closed port on ::1: the kernel gets an ICMPv6 port unreachable (ECONNREFUSED on a connected socket)', async () => {
    const probe = dgram.createSocket('udp6');
    const port = await new Promise<number>((r) => probe.bind(0, '::1', () => r(probe.address().port)));
    await new Promise<void>((r) => probe.close(() => r()));
    // Timed inside the client, from send() to the error (Python's start-up on a loaded machine is not ours).
    const py = [
      'import socket, time',
      's = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)',
      's.settimeout(3)',
      `s.connect(('${HOST6}', ${port}))`,
      't = time.monotonic()',
      's.send(b"x")',
      'try:',
      '    s.recv(100)',
      'except OSError as e:',
      '    print(e.__class__.__name__, round((time.monotonic() - t) * 1000))',
      '',
    ].join('\n');
    const r = await guest.exec(['python3', '-c', py], { timeoutMs: 15_000 });
    console.log(`python3 UDP/IPv6 client: ${r.stdout.trim()} ${r.stderr.trim()}`);
    const [err, ms] = r.stdout.trim().split(' ');
    expect(err).toBe('ConnectionRefusedError');
    expect(Number(ms)).toBeLessThan(1000);
  }, 20_000);

  it('port forwards from the host\'s ::1 to the guest\'s SLAAC address: 8 MiB over TCP intact, UDP echoed', async () => {
    const fwd = stack.forwards;
    const tcpF = await fwd.expose({ proto: 'tcp', hostIp: '::1', hostPort: 0, guestIp: addr6, guestPort: 8080 });
    const udpF = await fwd.expose({ proto: 'udp', hostIp: '::1', hostPort: 0, guestIp: addr6, guestPort: 8053 });
    // In the namespace: a TCP server answering "<sha256> <bytes> <peer>" once the client half-closes,
    // and a UDP echo; both on the SLAAC address, each exiting after its first job.
    const script = `
      const net = require('net'), dgram = require('dgram'), crypto = require('crypto');
      let jobs = 2; const done = () => { if (--jobs === 0) process.exit(0); };
      const srv = net.createServer({ allowHalfOpen: true }, (c) => {
        const h = crypto.createHash('sha256'); let n = 0;
        c.on('data', (d) => { h.update(d); n += d.length; });
        c.on('end', () => c.end(h.digest('hex') + ' ' + n + ' ' + c.remoteAddress + '\\n', () => { srv.close(); done(); }));
      }).listen(8080, '${addr6}');
      const u = dgram.createSocket('udp6');
      u.on('message', (m, r) => u.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address, () => { u.close(); done(); }));
      u.bind(8053, '${addr6}');`;
    const server = guest.exec(['node', '-e', script], { timeoutMs: 40_000 });
    const payload = randomBytes(8 * MiB);
    const want = createHash('sha256').update(payload).digest('hex');
    const net = await import('node:net');
    const once = (): Promise<string> =>
      new Promise((resolve) => {
        const c = net.connect({ host: '::1', port: tcpF.hostPort, allowHalfOpen: true });
        let answer = '';
        c.on('data', (d: Buffer) => (answer += d.toString()));
        c.on('error', () => resolve(''));
        c.on('close', () => resolve(answer));
        c.end(payload);
      });
    const answer = await until('the TCP server in the namespace', 20_000, async () => {
      const a = await once();
      return a === '' ? (await new Promise((r) => setTimeout(r, 300)), undefined) : a;
    });
    const [sum, bytes, peer] = answer.trim().split(' ');
    expect(sum).toBe(want);
    expect(Number(bytes)).toBe(8 * MiB);
    expect(peer).toBe(GW6); // the guest sees the gateway's IPv6 address
    const client = dgram.createSocket('udp6');
    const echoed = new Promise<string>((r) => client.once('message', (m) => r(m.toString())));
    await new Promise<void>((r) => client.bind(0, '::1', () => r()));
    const timer = setInterval(() => client.send('ping6', udpF.hostPort, '::1'), 300);
    client.send('ping6', udpF.hostPort, '::1');
    try {
      expect(await echoed).toBe('echo:ping6');
    } finally {
      clearInterval(timer);
      client.close();
    }
    expect((await server).code).toBe(0);
    await fwd.unexpose(tcpF.id);
    await fwd.unexpose(udpF.id);
  }, 60_000);

  it('UDP echo over IPv6 through the host alias, including datagrams fragmented both ways', async () => {
    const sock = dgram.createSocket('udp6');
    sock.on('message', (m, rinfo) => sock.send(m, rinfo.port, rinfo.address));
    const port = await new Promise<number>((r) => sock.bind(0, '::1', () => r(sock.address().port)));
    const script = `
      const dgram = require('dgram'); const s = dgram.createSocket('udp6');
      const sizes = [1, 100, 512, 1000, 1452, 4000, 8000]; const seen = new Set(); let t;
      s.on('message', (m, r) => { if (r.address !== '${HOST6}') return; seen.add(m.length + ':' + m[0]); if (seen.size === sizes.length) { clearTimeout(t); console.log('ok ' + [...seen].join(',')); s.close(); } });
      let tries = 0;
      const send = () => { for (const n of sizes) s.send(Buffer.alloc(n, n & 255), ${port}, '${HOST6}'); if (++tries < 5) t = setTimeout(send, 500); };
      send(); setTimeout(() => { console.log('timeout ' + [...seen].join(',')); process.exit(1); }, 5000).unref();`;
    const r = await guest.exec(['node', '-e', script], { timeoutMs: 20_000 });
    sock.close();
    console.log(`UDP/IPv6 echo: ${r.stdout.trim()} ${r.stderr.trim()}`);
    expect(r.code).toBe(0);
    expect(new Set(r.stdout.trim().split(' ')[1]?.split(','))).toEqual(
      new Set(['1:1', '100:100', '512:0', '1000:232', '1452:172', '4000:160', '8000:64']),
    );
    const s = stack.stats();
    // 4000 and 8000 bytes travel as IPv6 fragments both ways (the kernel's reassembled by us, ours by the kernel).
    expect(s.gateway.reassembly6.completed).toBeGreaterThanOrEqual(2);
    console.log(`ndp: ${JSON.stringify(s.gateway.ndp)} tcp: ${JSON.stringify(s.tcp)} udp: ${JSON.stringify(s.udp)}`);
    expect(s.gateway.malformed).toBe(0);
  }, 30_000);
});
