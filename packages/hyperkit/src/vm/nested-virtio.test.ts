/**
 * virtio-pci on real KVM (the nested sandbox, see nested-boot.test.ts): Debian's kernel
 * boots on 2 vCPUs with a virtio-rng on PCI slot 1, a virtio-blk on a raw image on slot 2 and
 * a virtio-console on slot 3; its virtio_pci driver negotiates the modern transport and sets
 * up the queues with MSI-X vectors; the guest reads /dev/hwrng, reads what the host put in the
 * image, writes a sector that the host then finds in the file, writes to /dev/hvc0, and
 * powers off through ACPI when every check passed (it resets otherwise), so the VM's exit
 * reason is the guest's verdict. Then the `hyperkit` command boots the same guest with
 * moby/hyperkit's flags and exits with bhyve's status for a power-off (1), and `createVm`
 * boots it once more from the uncompressed ELF vmlinux.
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
      const sh = (cmd: string, args: string[]) => run(cmd, args, { cwd: root, maxBuffer: 64 << 20, timeout: 730_000 });
      const kernel = (await sh('bash', ['tools/kernel/fetch'])).stdout.trim();
      const vmlinux = (await sh('bash', ['tools/kernel/vmlinux'])).stdout.trim();
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
          `node packages/hyperkit/bench/boot.mjs --kernel ${kernel}/vmlinuz --initrd ${initrd} --cpus 2 --devices rng,block:$img,console --timeout 300`,
          'echo "KITBOX-HOST-SEES $(dd if=$img bs=512 skip=8 count=1 2>/dev/null | head -c 10)"',
          'echo "KITBOX-HOST-SHA $(dd if=$img bs=65536 skip=16 count=16 2>/dev/null | sha256sum | cut -c1-64)"',
          // The same guest through the CLI, flags as Docker for Mac passed them.
          'dd if=/dev/zero of=$img bs=512 seek=8 count=1 conv=notrunc 2>/dev/null',
          'set +e',
          `node packages/hyperkit/dist/cli/main.js -A -u -m 256M -c 1 -s 0:0,hostbridge -s 31,lpc -s 1,virtio-rnd -s 2:0,virtio-blk,$img -s 3,virtio-console -l com1,stdio -F $TMPDIR/hk.pid -U 8b4b4b4b-0000-4000-8000-00000000c11e -f "kexec,${kernel}/vmlinuz,${initrd},console=ttyS0 reboot=k panic=-1 loglevel=4 pci=noearly tsc=reliable no_timer_check lpj=1000000" < /dev/null | sed 's/^/CLI: /'`,
          'echo "KITBOX-CLI-STATUS ${PIPESTATUS[0]} pidfile-left=$([ -e $TMPDIR/hk.pid ] && echo yes || echo no)"',
          'echo "KITBOX-CLI-HOST-SEES $(dd if=$img bs=512 skip=8 count=1 2>/dev/null | head -c 10)"',
          // The same guest from the uncompressed ELF vmlinux (tools/kernel/vmlinux).
          'dd if=/dev/zero of=$img bs=512 seek=8 count=1 conv=notrunc 2>/dev/null',
          `node packages/hyperkit/bench/boot.mjs --kernel ${vmlinux} --initrd ${initrd} --cpus 1 --devices rng,block:$img,console --timeout 300 | sed 's/^/ELF: /'`,
          'echo "KITBOX-ELF-HOST-SEES $(dd if=$img bs=512 skip=8 count=1 2>/dev/null | head -c 10)"',
          '',
        ].join('\n'),
      );
      let stdout: string;
      try {
        ({ stdout } = await sh('bash', ['tools/nested/run', '--timeout', '700', '--', 'bash', job]));
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
      // 1 MiB the guest wrote: the image holds exactly the bytes whose checksum it printed.
      const guestSha = /^KITBOX-BLK-SHA ([0-9a-f]{64})/m.exec(stdout)?.[1];
      expect(guestSha).toBeDefined();
      expect(stdout).toMatch(new RegExp(`^KITBOX-HOST-SHA ${guestSha}$`, 'm'));
      // The guest wrote to /dev/hvc0 (virtio-console on slot 3); it reached the VMM's output.
      expect(stdout).toMatch(/KITBOX-HVC42/);
      // Both vCPUs came up; the guest's checks passed and it powered the VM off through ACPI.
      expect(stdout).toMatch(/KITBOX-GUEST-UP .*cpus=2 .*ok=1/);
      const summary = JSON.parse(stdout.split('\n').filter((l) => l.startsWith('{"createdMs"')).at(0) ?? '{}') as { exit?: unknown; poweroffMs?: number };
      expect(summary.exit).toEqual({ reason: 'poweroff' });
      // The CLI: same guest, moby/hyperkit flags, exit status 1 (powered off), pid file removed.
      expect(stdout).toMatch(/CLI: .*KITBOX-GUEST-UP .*cpus=1 .*ok=1/);
      expect(stdout).toMatch(/CLI: .*KITBOX-HVC42/);
      expect(stdout).toMatch(/KITBOX-CLI-STATUS 1 pidfile-left=no/);
      expect(stdout).toMatch(/KITBOX-CLI-HOST-SEES GUESTWROTE/);
      // The ELF vmlinux: same checks passed, powered off.
      expect(stdout).toMatch(/ELF: .*KITBOX-GUEST-UP .*ok=1/);
      expect(stdout).toMatch(/ELF: \{"createdMs".*"exit":\{"reason":"poweroff"\}/);
      expect(stdout).toMatch(/KITBOX-ELF-HOST-SEES GUESTWROTE/);
      rmSync(dir, { recursive: true, force: true });
      console.log(`nested virtio: rng ${hex.slice(0, 16)}... read by the guest; blk read the host's bytes, the host read the guest's`);
    },
    760_000,
  );
});
