/**
 * The Kitbox VM image (tools/vm-image/build) boots under QEMU with its network from an
 * in-process vpnkit (QEMU's -netdev stream to vpnkit's QEMU link): the agent gets its
 * lease from vpnkit's DHCP, starts containerd and dockerd, and in selftest mode prints
 * `docker version` / `docker info` and powers off. QEMU runs with TCG here (these
 * machines' /dev/kvm only emulates); the root disk is used in snapshot mode.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { QemuStreamServer, Stack } from '@kitbox/vpnkit';

const run = promisify(execFile);
const root = new URL('../../../../', import.meta.url).pathname;
const qemu = '/usr/bin/qemu-system-x86_64';
const ready = existsSync(qemu) && existsSync('/usr/bin/mmdebstrap') && process.getuid?.() === 0;
if (!ready) console.log('skipping the VM image test: it needs root, qemu-system-x86_64 and mmdebstrap (tools/setup installs them)');

describe.skipIf(!ready)('the Kitbox VM image', () => {
  it(
    'boots, takes its lease from vpnkit and runs dockerd',
    async () => {
      const { stdout } = await run('bash', ['tools/vm-image/build'], { cwd: root, maxBuffer: 64 << 20, timeout: 900_000 });
      const image = stdout.trim().split('\n').at(-1) as string;
      expect(stdout).toMatch(/sizes: vmlinuz .* root\.img \d+ MiB/);

      const dir = mkdtempSync(join(tmpdir(), 'kitbox-image-'));
      const stack = new Stack({ domainName: 'kitbox.internal' });
      stack.start();
      const server = new QemuStreamServer((link) => void stack.addLink(link));
      await server.listen(join(dir, 'net.sock'));
      try {
        const t0 = performance.now();
        const out = await new Promise<string>((resolve, reject) => {
          const child = spawn(qemu, [
            '-accel', 'tcg', '-cpu', 'max', '-m', '2048', '-smp', '2', '-nographic', '-no-reboot', '-monitor', 'none', '-serial', 'stdio',
            '-kernel', `${image}/vmlinuz`, '-initrd', `${image}/initrd.img`, '-append', 'console=ttyS0 quiet panic=-1 kitbox.selftest=1',
            '-drive', `file=${image}/root.img,format=raw,if=virtio,snapshot=on`,
            '-netdev', `stream,id=n0,server=off,addr.type=unix,addr.path=${join(dir, 'net.sock')}`,
            '-device', 'virtio-net-pci,netdev=n0',
          ]);
          let text = '';
          child.stdout.on('data', (d: Buffer) => (text += d.toString('latin1')));
          child.stderr.on('data', (d: Buffer) => (text += d.toString('latin1')));
          const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
          child.on('error', reject);
          child.on('exit', () => {
            clearTimeout(timer);
            resolve(text);
          });
        });
        const tail = out.slice(-4000);
        expect(out, tail).toMatch(/kitbox-agent: lease 192\.168\.65\.3\/24 router 192\.168\.65\.1 dns 192\.168\.65\.1/);
        expect(out, tail).toMatch(/kitbox-agent: docker ready \([\d.]+ s after boot\)/);
        expect(out, tail).toMatch(/Server:\s+Engine:\s+Version:\s+20\.10/);
        expect(out, tail).toContain('KITBOX-DOCKER-INFO driver=overlay2 cgroup=2');
        expect(out, tail).toContain('kitbox-agent: selftest done');
        console.log(`VM image: ${/docker ready \(([\d.]+) s/.exec(out)?.[1]} s from kernel start to dockerd answering (QEMU TCG), ${((performance.now() - t0) / 1000).toFixed(1)} s to power-off`);
      } finally {
        await stack.close();
        await server.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
    1_200_000,
  );
});
