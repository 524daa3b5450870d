/**
 * virtio-pci on real KVM (the nested sandbox, see nested-boot.test.ts): Debian's kernel
 * boots with a virtio-rng on PCI slot 1, its virtio_pci driver negotiates the modern
 * transport, sets up the queue with an MSI-X vector, and the guest reads /dev/hwrng.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('../../../../', import.meta.url).pathname;
const ready = existsSync('/usr/bin/qemu-system-x86_64') && existsSync(new URL('../../dist/index.js', import.meta.url));
if (!ready) console.log('nested virtio test skipped: needs qemu-system-x86_64 and the hyperkit build');

describe.skipIf(!ready)('virtio-pci devices on real (nested) KVM', () => {
  it(
    'a Linux guest finds virtio-rng on PCI and reads entropy from it',
    async () => {
      const sh = (cmd: string, args: string[]) => run(cmd, args, { cwd: root, maxBuffer: 64 << 20, timeout: 480_000 });
      const kernel = (await sh('bash', ['tools/kernel/fetch'])).stdout.trim();
      const initrd = (await sh('bash', ['tools/nested/initramfs', 'virtio-guest', 'tools/nested/virtio-guest-init', 'virtio_pci', 'virtio_rng'])).stdout.trim();
      let stdout: string;
      try {
        ({ stdout } = await sh('bash', [
          'tools/nested/run', '--timeout', '450', '--',
          'node', 'packages/hyperkit/bench/boot.mjs', '--kernel', `${kernel}/vmlinuz`, '--initrd', initrd, '--cpus', '1', '--devices', 'rng', '--timeout', '400',
        ]));
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string; message: string };
        stdout = `${e.stdout ?? ''}\n${e.stderr ?? ''}\n${e.message}`;
      }
      expect(stdout, stdout.slice(-3000)).toMatch(/KITBOX-PCI .*0000:00:01\.0=0x1af4:0x1044/);
      expect(stdout).toMatch(/KITBOX-RNG-CURRENT virtio_rng\.0/);
      const hex = /KITBOX-RNG ([0-9a-f]*)/.exec(stdout)?.[1] ?? '';
      expect(hex).toMatch(/^[0-9a-f]{64}$/);
      expect(hex).not.toBe('0'.repeat(64));
      expect(stdout).toMatch(/KITBOX-GUEST-UP/);
      console.log(`nested virtio-rng: ${hex.slice(0, 16)}... read by the guest`);
    },
    500_000,
  );
});
