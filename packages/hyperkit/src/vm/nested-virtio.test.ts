/**
 * virtio-pci on real KVM (the nested sandbox, see nested-boot.test.ts): Debian's kernel
 * boots with a virtio-rng on PCI slot 1 and a virtio-blk on a raw image on slot 2; its
 * virtio_pci driver negotiates the modern transport and sets up the queues with MSI-X
 * vectors; the guest reads /dev/hwrng, reads what the host put in the image and writes a
 * sector that the host then finds in the file.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('../../../../', import.meta.url).pathname;
const ready = existsSync('/usr/bin/qemu-system-x86_64') && existsSync(new URL('../../dist/index.js', import.meta.url));
if (!ready) console.log('nested virtio test skipped: needs qemu-system-x86_64 and the hyperkit build');

describe.skipIf(!ready)('virtio-pci devices on real (nested) KVM', () => {
  it(
    'a Linux guest finds virtio-rng, virtio-blk and virtio-console on PCI: reads entropy, reads and writes the disk image, writes to hvc0',
    async () => {
      const sh = (cmd: string, args: string[]) => run(cmd, args, { cwd: root, maxBuffer: 64 << 20, timeout: 480_000 });
      const kernel = (await sh('bash', ['tools/kernel/fetch'])).stdout.trim();
      const initrd = (await sh('bash', ['tools/nested/initramfs', 'virtio-guest', 'tools/nested/virtio-guest-init', 'virtio_pci', 'virtio_rng', 'virtio_blk', 'virtio_console'])).stdout.trim();
      // The sandbox sees the host's /tmp read-only: the image is made, and checked, inside it.
      const dir = mkdtempSync(join(tmpdir(), 'kitbox-virtio-'));
      const job = join(dir, 'job.sh');
      writeFileSync(
        job,
        [
          'set -e',
          'img=$TMPDIR/disk.img',
          'dd if=/dev/zero of=$img bs=1M count=8 2>/dev/null',
          'echo -n HOSTDATA | dd of=$img bs=512 seek=1 conv=notrunc 2>/dev/null',
          `node packages/hyperkit/bench/boot.mjs --kernel ${kernel}/vmlinuz --initrd ${initrd} --cpus 1 --devices rng,block:$img,console --timeout 400`,
          'echo "KITBOX-HOST-SEES $(dd if=$img bs=512 skip=8 count=1 2>/dev/null | head -c 10)"',
          '',
        ].join('\n'),
      );
      let stdout: string;
      try {
        ({ stdout } = await sh('bash', ['tools/nested/run', '--timeout', '450', '--', 'bash', job]));
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
      expect(stdout).toMatch(/KITBOX-PCI .*0000:00:02\.0=0x1af4:0x1042/);
      expect(stdout).toMatch(/KITBOX-BLK-SECTORS 16384\b/);
      expect(stdout).toMatch(/KITBOX-BLK-READ HOSTDATA/);
      expect(stdout).toMatch(/KITBOX-BLK-WROTE/);
      expect(stdout).toMatch(/KITBOX-HOST-SEES GUESTWROTE/);
      // The guest wrote to /dev/hvc0 (virtio-console on slot 3); it reached the VMM's output.
      expect(stdout).toMatch(/KITBOX-HVC42/);
      rmSync(dir, { recursive: true, force: true });
      console.log(`nested virtio: rng ${hex.slice(0, 16)}... read by the guest; blk read the host's bytes, the host read the guest's`);
    },
    500_000,
  );
});
