import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { makeBzImage as bzImage } from '../testing/bzimage.js';
import { assignSlots, createVm } from './machine.js';

const hasKvm = process.platform === 'linux' && existsSync('/dev/kvm');
const built = existsSync(new URL('../../dist/vcpu/thread-worker.js', import.meta.url));

describe('createVm configuration', () => {
  it('refuses bad memory sizes and kernels before touching KVM', async () => {
    await expect(createVm({ memoryMiB: 1, kernel: new Uint8Array(0) })).rejects.toThrow(/memoryMiB/);
    await expect(createVm({ memoryMiB: 64, cpus: 0, kernel: new Uint8Array(0) })).rejects.toThrow(/cpus must be a whole number from 1 to 254/);
    await expect(createVm({ memoryMiB: 64, kernel: '/nonexistent/vmlinuz' })).rejects.toThrow(/ENOENT/);
  });
});

describe.skipIf(!hasKvm || !built)('createVm on /dev/kvm', () => {
  it('boots a bzImage whose kernel prints on COM1 and resets through the i8042', async () => {
    // mov dx,0x3f8 | mov al,'H' | out dx,al | mov al,'i' | out dx,al
    // mov al,0xfe | out 0x64,al | jmp $
    const kernel = bzImage([0x66, 0xba, 0xf8, 0x03, 0xb0, 0x48, 0xee, 0xb0, 0x69, 0xee, 0xb0, 0xfe, 0xe6, 0x64, 0xeb, 0xfe]);
    const out: number[] = [];
    const vm = await createVm({ memoryMiB: 32, kernel, serial: (d) => out.push(...d) });
    vm.start();
    expect(await vm.wait()).toEqual({ reason: 'reset' });
    expect(String.fromCharCode(...out)).toBe('Hi');
  });

  it('stops a running guest on request', async () => {
    const vm = await createVm({ memoryMiB: 32, kernel: bzImage([0xeb, 0xfe]) });
    vm.start();
    await new Promise((r) => setTimeout(r, 50));
    expect(await vm.stop()).toEqual({ reason: 'stopped' });
  });
});

const kernelDir = (() => {
  try {
    return execFileSync('bash', [new URL('../../../../tools/kernel/fetch', import.meta.url).pathname], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
})();
const vmlinuz = kernelDir ? `${kernelDir}/vmlinuz` : undefined;

describe.skipIf(!hasKvm || !built || !vmlinuz)("Debian's kernel on /dev/kvm", () => {
  it(
    "runs the kernel's decompressor, which drives COM1",
    async () => {
      // This machine's /dev/kvm emulates (~4 M guest instructions/s): a full boot takes many
      // minutes, so the test stops once the decompressor has spoken. Hardware KVM boots in
      // the nested sandbox (tools/nested).
      let text = '';
      let resolveSeen: () => void = () => {};
      const seen = new Promise<void>((r) => (resolveSeen = r));
      const vm = await createVm({
        memoryMiB: 256,
        kernel: vmlinuz as string,
        cmdline: 'console=ttyS0 earlyprintk=serial,ttyS0 noxsave nokaslr reboot=k panic=-1',
        hideCpuFeatures: ['xsave', 'cmpxchg16b'],
        serial: (d) => {
          text += Buffer.from(d).toString('latin1');
          if (text.includes("KASLR disabled: 'nokaslr' on cmdline.")) resolveSeen();
        },
      });
      vm.start();
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 90_000));
      const result = await Promise.race([seen.then(() => 'seen' as const), timeout, vm.wait()]);
      await vm.stop();
      expect(result, text).toBe('seen');
    },
    120_000,
  );
});

describe('PCI slot assignment', () => {
  it('keeps the slots devices ask for and fills the others in order from 1', () => {
    expect(assignSlots([{ type: 'rng' }, { type: 'console', slot: 1 }, { type: 'rng' }, { type: 'rng', slot: 5 }])).toEqual([2, 1, 3, 5]);
    expect(assignSlots([])).toEqual([]);
  });

  it('refuses slots out of range or given twice', () => {
    expect(() => assignSlots([{ type: 'rng', slot: 0 }])).toThrow(/not in 1-31/);
    expect(() => assignSlots([{ type: 'rng', slot: 3 }, { type: 'console', slot: 3 }])).toThrow(/two devices/);
    expect(() => assignSlots(Array.from({ length: 32 }, () => ({ type: 'rng' as const })))).toThrow(/more than 31/);
  });
});
