/**
 * The proof that matters: Debian's Linux kernel boots to user space under hyperkit on a
 * real KVM. These machines' own /dev/kvm only emulates, so the test runs hyperkit inside
 * the nested sandbox (tools/nested/run: QEMU/TCG with an emulated AMD SVM CPU, whose
 * /dev/kvm is real KVM), booting a busybox initramfs whose /init prints a marker and resets.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('../../../../', import.meta.url).pathname;
const qemu = ['/usr/bin/qemu-system-x86_64', '/usr/local/bin/qemu-system-x86_64'].some((p) => existsSync(p));
const isRoot = process.getuid?.() === 0;
const built = existsSync(new URL('../../dist/vm/machine.js', import.meta.url));
if (!qemu || !isRoot) console.log('skipping the nested boot test: it needs qemu-system-x86_64 and root (tools/setup installs QEMU)');

describe.skipIf(!qemu || !isRoot || !built)('Linux on hyperkit, on real (nested) KVM', () => {
  it(
    "boots Debian's kernel on 2 vCPUs with an initramfs to /init, which resets the VM",
    async () => {
      const sh = (cmd: string, args: string[]) => run(cmd, args, { cwd: root, maxBuffer: 64 << 20, timeout: 480_000 });
      const kernel = (await sh('bash', ['tools/kernel/fetch'])).stdout.trim();
      const initrd = (await sh('bash', ['tools/nested/initramfs', 'guest', 'tools/nested/guest-init'])).stdout.trim();
      let stdout: string;
      try {
        ({ stdout } = await sh('bash', [
          'tools/nested/run', '--timeout', '450', '--',
          'node', 'packages/hyperkit/bench/boot.mjs', '--kernel', `${kernel}/vmlinuz`, '--initrd', initrd, '--cpus', '2', '--timeout', '400',
        ]));
      } catch (err) {
        // Keep what the VM printed: it says why.
        const e = err as { stdout?: string; stderr?: string; message: string };
        stdout = `${e.stdout ?? ''}\n${e.stderr ?? ''}\n${e.message}`;
      }
      expect(stdout, stdout.slice(-3000)).toMatch(/KITBOX-GUEST-UP kernel=6\.\S+ cpus=2/);
      // Linux found the PCI host bridge through configuration mechanism #1.
      expect(stdout).toMatch(/KITBOX-PCI .*0000:00:00\.0=0x8086:0x1237/);
      const summary = JSON.parse(stdout.trim().split('\n').filter((l) => l.startsWith('{"createdMs"')).at(-1) ?? '{}');
      expect(summary.exit).toEqual({ reason: 'reset' });
      console.log(`nested boot: created in ${summary.createdMs} ms, /init after ${summary.initMs} ms, reset after ${summary.totalMs} ms, VMM RSS ${summary.rssMiB} MiB`);
    },
    500_000,
  );
});
