/**
 * The `vpnkit` command end to end (the built bin): links and the port-control API come up
 * on owner-only Unix sockets, a forward is added through the API, SIGTERM closes everything.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { encodeCommand, encodeInit, VMNET_RESP_DISCONNECT, VMNET_RESP_VIF } from '../link/vmnet-proto.js';
import { socketReader, dhcpDiscoverFrame } from '../testing/wire.fixture.js';
import { DhcpMessageType, DhcpPacket, DhcpRepr, type EthernetAddress, Ipv4Address, parseFrame } from '../wire/index.js';

const bin = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const built = existsSync(bin);
if (!built) console.log('vpnkit CLI test skipped: build first (nx build vpnkit)');

function call(socketPath: string, method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A DHCPDISCOVER from `mac`, as a 2-byte little-endian length-prefixed VMN3T frame. */
function discoverFrame(mac: EthernetAddress): Buffer {
  const frame = dhcpDiscoverFrame(mac, 7);
  const f = Buffer.alloc(2 + frame.length);
  f.writeUInt16LE(frame.length, 0);
  f.set(frame, 2);
  return f;
}

/** VMN3T handshake with a preferred IPv4 address; the 258-byte reply. */
async function handshake(path: string, uuid: string, ip: string): Promise<{ sock: Socket; read: (n: number) => Promise<Buffer>; reply: Buffer }> {
  const sock = connect(path);
  await new Promise<void>((r) => sock.once('connect', () => r()));
  sock.on('error', () => undefined);
  const read = socketReader(sock);
  sock.write(encodeInit());
  await read(49);
  sock.write(encodeCommand({ kind: 'preferredIpv4', uuid, ip: Ipv4Address.parse(ip) }));
  return { sock, read, reply: await read(258) };
}

describe.skipIf(!built)('vpnkit CLI', () => {
  it('--help exits 0; a bad flag exits 2 naming it', () => {
    const help = spawnSync('node', [bin, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--port-control unix:PATH');
    const bad = spawnSync('node', [bin, '--tap', 'x', '--mtu', '9'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('vpnkit: --mtu: expected 576..65520, got "9"');
  });

  it('runs as an executable whose shebang gives V8 the larger initial old generation', () => {
    // As npm's bin link runs it: through the kernel's shebang, not `node main.js`.
    expect(readFileSync(bin, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env -S node --initial-old-space-size=128');
    expect(statSync(bin).mode & 0o111).not.toBe(0);
    const help = spawnSync(bin, ['--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--port-control unix:PATH');
  });

  it('serves QEMU and VMN3T links and the control API until SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vpnkit-cli-'));
    try {
      const ctl = join(dir, 'port.sock');
      const child = spawn('node', [bin, '--qemu', `unix:${join(dir, 'qemu.sock')}`, '--ethernet', `unix:${join(dir, 'eth.sock')}`, '--port-control', `unix:${ctl}`, '--pcap', join(dir, 'x.pcap')], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      for (let i = 0; i < 100 && !err.includes('Ctrl-C stops'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(err).toContain('vpnkit: QEMU stream on unix:');
      expect(err).toContain('vpnkit: gateway 192.168.65.1, host alias 192.168.65.2, MTU 1500');
      expect(err).toContain('IPv6 gateway fd00:192:168:65::1, host alias fd00:192:168:65::2');
      for (const s of ['qemu.sock', 'eth.sock', 'port.sock']) expect(statSync(join(dir, s)).mode & 0o777).toBe(0o600);
      const add = await call(ctl, 'POST', '/forwards', JSON.stringify({ proto: 'tcp', hostPort: 0, guestIp: '192.168.65.3', guestPort: 22 }));
      expect(add.status).toBe(201);
      expect(JSON.parse((await call(ctl, 'GET', '/forwards')).text)).toHaveLength(1);
      const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
      expect(statSync(join(dir, 'x.pcap')).size).toBeGreaterThanOrEqual(24); // the pcap header at least
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it("hyperkit's preferred_ipv4 is what the VIF's DHCP client is offered; one taken or outside the pool is refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vpnkit-cli-'));
    const eth = join(dir, 'eth.sock');
    const child = spawn('node', [bin, '--ethernet', `unix:${eth}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      for (let i = 0; i < 100 && !err.includes('Ctrl-C stops'); i++) await new Promise((r) => setTimeout(r, 100));
      const a = await handshake(eth, '11111111-2222-3333-4444-555555555555', '192.168.65.50');
      expect(a.reply[0]).toBe(VMNET_RESP_VIF);
      const mac = new Uint8Array(a.reply.subarray(5, 11)) as EthernetAddress;
      a.sock.write(discoverFrame(mac));
      // The first frame back is the OFFER (nothing else talks on this link).
      const len = (await a.read(2)).readUInt16LE(0);
      const offer = parseFrame(new Uint8Array(await a.read(len)));
      if (offer.network.kind !== 'ipv4' || offer.network.transport.kind !== 'udp') throw new Error('not a UDP frame');
      const d = DhcpRepr.parse(DhcpPacket.checked(offer.network.transport.udp.payload));
      expect(d.messageType).toBe(DhcpMessageType.Offer);
      expect(Ipv4Address.format(d.yourIp)).toBe('192.168.65.50');
      // Another VIF asking for the same address, and one asking outside the pool: a disconnect with the reason.
      for (const [uuid, ip] of [
        ['66666666-2222-3333-4444-555555555555', '192.168.65.50'],
        ['77777777-2222-3333-4444-555555555555', '10.1.2.3'],
      ] as const) {
        const b = await handshake(eth, uuid, ip);
        expect(b.reply[0]).toBe(VMNET_RESP_DISCONNECT);
        expect(b.reply.subarray(2, 2 + (b.reply[1] as number)).toString()).toContain(`preferred IPv4 address ${ip} is not available`);
        b.sock.destroy();
      }
      a.sock.destroy();
      // Once A's VIF is gone its pin is dropped: another VIF may have the address (A had an offer, not a lease).
      let c: Awaited<ReturnType<typeof handshake>> | undefined;
      for (let i = 0; i < 50; i++) {
        await new Promise((r) => setTimeout(r, 20));
        c = await handshake(eth, '88888888-2222-3333-4444-555555555555', '192.168.65.50');
        if (c.reply[0] === VMNET_RESP_VIF) break;
        c.sock.destroy();
      }
      expect(c?.reply[0]).toBe(VMNET_RESP_VIF);
      c?.sock.destroy();
      expect(err).toContain('vpnkit: 192.168.65.50 reserved for VIF 11111111-2222-3333-4444-555555555555');
      expect(err).toContain('vpnkit: refused VIF 77777777-2222-3333-4444-555555555555: preferred IPv4 10.1.2.3');
      const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('a listener that cannot be created is an error, exit 1', () => {
    const r = spawnSync('node', [bin, '--qemu', 'unix:/nonexistent-dir/q.sock'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/vpnkit: .*nonexistent-dir/);
  });
});
