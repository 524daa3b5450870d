import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Bus } from '../devices/bus.js';
import { Kvm } from '../kvm/kvm.js';
import { Vm } from '../kvm/vm.js';
import { VcpuThread } from './thread.js';

const hasKvm = process.platform === 'linux' && existsSync('/dev/kvm');
const built = existsSync(new URL('../../dist/vcpu/thread-worker.js', import.meta.url));
if (hasKvm && !built) console.log('skipping vCPU thread tests: build the package first (nx test builds it)');

let kvm: Kvm;
let vm: Vm;

/** Loads real-mode `code` at 0x1000 and returns a vCPU thread ready to start there. */
async function guest(code: number[], regs: { rax?: bigint; rcx?: bigint } = {}): Promise<VcpuThread> {
  vm.addMemory([{ gpa: 0, size: 0x10000 }]).write(0x1000, new Uint8Array(code));
  const t = await VcpuThread.spawn(vm, 0, kvm.vcpuMmapSize());
  const sregs = t.vcpu.getSregs();
  sregs.cs.base = 0n;
  sregs.cs.selector = 0;
  t.vcpu.setSregs(sregs);
  t.vcpu.setRegs({ ...t.vcpu.getRegs(), rip: 0x1000n, rflags: 0x2n, rax: regs.rax ?? 0n, rcx: regs.rcx ?? 0n });
  return t;
}

function com1(out: number[]): { pio: Bus; mmio: Bus } {
  const pio = new Bus('pio');
  pio.insert(0x3f8, 8, { read: (_o, d) => d.fill(0), write: (o, d) => (o === 0 ? out.push(...d) : 0) }, 'com1');
  return { pio, mmio: new Bus('mmio') };
}

describe.skipIf(!hasKvm || !built)('VcpuThread on /dev/kvm', () => {
  beforeEach(() => {
    kvm = Kvm.open();
    vm = Vm.create(kvm);
  });
  afterEach(() => {
    vm.close();
    kvm.close();
  });

  it('runs KVM_RUN on its own thread and serves exits on the main thread', async () => {
    // mov dx,0x3f8 | mov al,'k' | out dx,al | hlt
    const t = await guest([0xba, 0xf8, 0x03, 0xb0, 0x6b, 0xee, 0xf4]);
    const out: number[] = [];
    expect(await t.start(com1(out))).toEqual({ action: 'halt' });
    expect(String.fromCharCode(...out)).toBe('k');
    expect(t.exits).toBe(2);
  });

  it('carries a thousand port writes, in order', async () => {
    // mov dx,0x3f8 | mov cx,1000 | l: out dx,al | inc al | loop l | hlt
    const t = await guest([0xba, 0xf8, 0x03, 0xb9, 0xe8, 0x03, 0xee, 0xfe, 0xc0, 0xe2, 0xfb, 0xf4]);
    const out: number[] = [];
    const t0 = performance.now();
    expect(await t.start(com1(out))).toEqual({ action: 'halt' });
    const ms = performance.now() - t0;
    expect(out).toHaveLength(1000);
    expect(out.every((b, i) => b === (i & 0xff))).toBe(true);
    console.log(`1000 port-I/O exits round-tripped through the main thread in ${ms.toFixed(0)} ms`);
  });

  it('stops a guest spinning in a loop that never exits', async () => {
    const t = await guest([0xeb, 0xfe]); // jmp $
    const done = t.start(com1([]));
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    t.stop();
    expect(await done).toEqual({ action: 'stopped' });
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('closes a thread that was never started', async () => {
    const t = await guest([0xf4]);
    await t.close();
  });
});
