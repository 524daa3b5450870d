/**
 * vpnkit against a real QEMU and a real Linux guest: QEMU's `-netdev stream` connects a
 * virtio NIC to our QEMU stream server; the guest (Debian's kernel with a busybox
 * initramfs, tools/nested/net-guest-init) gets its address by DHCP from our gateway and
 * pings it. This is the link the desktop app's VM uses.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { QemuStreamServer } from '../link/qemu.js';
import { Stack } from './stack.js';

const run = promisify(execFile);
const root = new URL('../../../../', import.meta.url).pathname;
const qemu = '/usr/bin/qemu-system-x86_64';
const canBuild = existsSync(qemu) && existsSync('/usr/bin/cpio') && process.getuid?.() === 0;
if (!canBuild) console.log('skipping the QEMU guest test: it needs qemu-system-x86_64, cpio and root (tools/setup installs them)');

describe.skipIf(!canBuild)('a QEMU guest behind vpnkit', () => {
  it(
    'gets a DHCP lease over -netdev stream and pings the gateway',
    async () => {
      const sh = async (args: string[]) => (await run('bash', args, { cwd: root, maxBuffer: 16 << 20 })).stdout.trim();
      const kernel = `${await sh(['tools/kernel/fetch'])}/vmlinuz`;
      const initrd = await sh(['tools/nested/initramfs', 'net-guest', 'tools/nested/net-guest-init', 'virtio_pci', 'virtio_net']);
      const dir = mkdtempSync(join(tmpdir(), 'vpnkit-qemu-'));
      const stack = new Stack({ domainName: 'kitbox.test', mtu: 1500 });
      stack.start();
      const server = new QemuStreamServer((link) => void stack.addLink(link));
      const sock = join(dir, 'net.sock');
      await server.listen(sock);
      try {
        const out = await new Promise<string>((resolve, reject) => {
          const child = spawn(qemu, [
            '-accel', 'tcg', '-m', '512', '-nographic', '-no-reboot', '-monitor', 'none', '-serial', 'stdio',
            '-kernel', kernel, '-initrd', initrd, '-append', 'console=ttyS0 quiet panic=-1',
            '-netdev', `stream,id=n0,server=off,addr.type=unix,addr.path=${sock}`,
            '-device', 'virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56',
          ]);
          let text = '';
          child.stdout.on('data', (d: Buffer) => (text += d.toString('latin1')));
          child.stderr.on('data', (d: Buffer) => (text += d.toString('latin1')));
          const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
          child.on('error', reject);
          child.on('exit', () => {
            clearTimeout(timer);
            resolve(text);
          });
        });
        expect(out, out.slice(-3000)).toMatch(/LEASE ip=192\.168\.65\.3 mask=24 router=192\.168\.65\.1 dns=192\.168\.65\.1 domain=kitbox\.test mtu=1500/);
        expect(out, out.slice(-3000)).toContain('PING-OK');
        const stats = stack.stats();
        expect(stats.gateway.dhcp.acks).toBeGreaterThanOrEqual(1);
        expect(stats.gateway.icmp.replies).toBeGreaterThanOrEqual(3);
      } finally {
        await stack.close();
        await server.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
    200_000,
  );
});
