/**
 * `HvfArm64Vm`/`HvfArm64Vcpu` over a scripted stand-in for the arm64 framework: registers
 * in a map, the exit record a 32-byte buffer each scripted `hv_vcpu_run` fills as the
 * framework would. Nothing here has run on Apple silicon (see HVF.md).
 */
import { describe, expect, it } from 'vitest';
import type { HostMemory, HvfArm64Api } from '../../ffi/hvf.js';
import { handleExit } from '../../vcpu/handle.js';
import { Bus } from '../../devices/bus.js';
import { HvfArm64Vm } from './vm.js';
import { HV_REG } from './vcpu.js';

type Exit = { reason: number; esr?: bigint; ipa?: bigint };

class FakeArm64 implements HvfArm64Api {
  readonly regs = new Map<number, bigint>();
  readonly sys = new Map<number, bigint>();
  readonly exits: Exit[] = [];
  readonly log: string[] = [];
  readonly exit = new DataView(new ArrayBuffer(32));
  vmCreate(): void { this.log.push('vm_create'); }
  vmDestroy(): void { this.log.push('vm_destroy'); }
  vmMap(uva: bigint, ipa: bigint, size: number, flags: bigint): void { this.log.push(`map ${uva.toString(16)} ${ipa.toString(16)} ${size.toString(16)} ${flags}`); }
  vmUnmap(ipa: bigint, size: number): void { this.log.push(`unmap ${ipa.toString(16)} ${size.toString(16)}`); }
  vcpuCreate(): { vcpu: bigint; exit: DataView } { return { vcpu: 3n, exit: this.exit }; }
  vcpuDestroy(vcpu: bigint): void { this.log.push(`vcpu_destroy ${vcpu}`); }
  vcpuRun(): void {
    const e = this.exits.shift();
    if (!e) throw new Error('no scripted exit left');
    this.exit.setUint32(0, e.reason, true);
    this.exit.setBigUint64(8, e.esr ?? 0n, true);
    this.exit.setBigUint64(16, 0n, true);
    this.exit.setBigUint64(24, e.ipa ?? 0n, true);
  }
  vcpusExit(vcpus: readonly bigint[]): void { this.log.push(`exit ${vcpus.join(',')}`); }
  getReg(_v: bigint, reg: number): bigint { return this.regs.get(reg) ?? 0n; }
  setReg(_v: bigint, reg: number, value: bigint): void { this.regs.set(reg, value); }
  getSysReg(_v: bigint, reg: number): bigint { return this.sys.get(reg) ?? 0n; }
  setSysReg(_v: bigint, reg: number, value: bigint): void { this.sys.set(reg, value); }
  setPendingInterrupt(_v: bigint, type: 0 | 1, pending: boolean): void { this.log.push(`pending ${type} ${pending}`); }
  setVtimerMask(_v: bigint, masked: boolean): void { this.log.push(`vtimer mask ${masked}`); }
  allocate(length: number): HostMemory {
    return { address: 0x1_0000_0000n, length, buffer: new ArrayBuffer(length), free: () => this.log.push('free') };
  }
}

const UART = 0x0900_0000n;
const PC = 0x4008_0000n;
const EXCEPTION = 1;

function vcpu(): { hv: FakeArm64; vm: HvfArm64Vm; cpu: ReturnType<HvfArm64Vm['createVcpu']> } {
  const hv = new FakeArm64();
  const vm = HvfArm64Vm.create({ api: hv });
  vm.addMemory([{ gpa: 0x4000_0000, size: 0x10_0000 }]);
  const cpu = vm.createVcpu();
  hv.regs.set(HV_REG.PC, PC);
  return { hv, vm, cpu };
}

describe('HvfArm64Vm', () => {
  it('maps RAM in 16 KiB pages and tears down in order', () => {
    const hv = new FakeArm64();
    const vm = HvfArm64Vm.create({ api: hv });
    expect(() => vm.addMemory([{ gpa: 0x4000_1000, size: 0x4000 }])).toThrowError(expect.objectContaining({ code: 'MEMORY_REGION' }) as Error);
    vm.addMemory([{ gpa: 0x4000_0000, size: 0x4000 }]);
    const cpu = vm.createVcpu();
    vm.interrupt();
    vm.close();
    expect(hv.log).toEqual(['vm_create', 'map 100000000 40000000 4000 7', `exit ${cpu.hvId}`, 'vcpu_destroy 3', 'unmap 40000000 4000', 'free', 'vm_destroy']);
  });
});

describe('HvfArm64Vcpu.run', () => {
  it('turns `str w1, [x0]` to a device into an mmio-write of W1 and steps PC', () => {
    const { hv, cpu } = vcpu();
    hv.regs.set(HV_REG.X1, 0xffff_ffff_0000_0041n);
    hv.exits.push({ reason: EXCEPTION, esr: 0x9381_0047n, ipa: UART });
    const exit = cpu.run();
    expect(exit).toMatchObject({ kind: 'mmio-write', address: UART, len: 4 });
    expect(exit.kind === 'mmio-write' && [...exit.data]).toEqual([0x41, 0, 0, 0]);
    expect(hv.regs.get(HV_REG.PC)).toBe(PC + 4n);
  });

  it('completes `ldrsh x2, [x3]` on the next run, sign-extended into X2', () => {
    const { hv, cpu } = vcpu();
    hv.exits.push({ reason: EXCEPTION, esr: 0x9362_8007n, ipa: UART + 0x18n }, { reason: EXCEPTION, esr: 0x0600_0000n });
    const exit = cpu.run();
    expect(exit).toMatchObject({ kind: 'mmio-read', address: UART + 0x18n, len: 2 });
    if (exit.kind !== 'mmio-read') throw new Error('expected mmio-read');
    exit.data.set([0x00, 0x80]);
    expect(cpu.run()).toEqual({ kind: 'hlt' }); // then WFI
    expect(hv.regs.get(HV_REG.X0 + 2)).toBe(0xffff_ffff_ffff_8000n);
    expect(hv.regs.get(HV_REG.PC)).toBe(PC + 8n);
  });

  it('works with the shared handleExit and buses', () => {
    const { hv, cpu } = vcpu();
    const mmio = new Bus('mmio');
    const seen: number[] = [];
    mmio.insert(Number(UART), 0x1000, { read: (_o, d) => d.fill(0), write: (_o, d) => seen.push(...d) }, 'pl011');
    hv.regs.set(HV_REG.X1, 0x68n);
    hv.exits.push({ reason: EXCEPTION, esr: 0x9381_0047n, ipa: UART });
    const exit = cpu.run();
    if (exit.kind === 'vtimer') throw new Error('unexpected vtimer');
    expect(handleExit(exit, { pio: new Bus('pio'), mmio })).toEqual({ action: 'continue' });
    expect(seen).toEqual([0x68, 0, 0, 0]);
  });

  it('reports an abort without a syndrome as an emulation failure, PC untouched', () => {
    const { hv, cpu } = vcpu();
    hv.exits.push({ reason: EXCEPTION, esr: 0x9200_0047n, ipa: UART });
    expect(cpu.run()).toEqual({ kind: 'internal-error', suberror: 1, data: [UART, PC, 0x9200_0047n] });
    expect(hv.regs.get(HV_REG.PC)).toBe(PC);
  });

  it('answers PSCI_VERSION over HVC in the backend and reports SYSTEM_OFF as a shutdown event', () => {
    const { hv, cpu } = vcpu();
    hv.regs.set(HV_REG.X0, 0x8400_0000n);
    hv.exits.push({ reason: EXCEPTION, esr: 0x5a00_0000n }, { reason: EXCEPTION, esr: 0x0600_0000n });
    expect(cpu.run()).toEqual({ kind: 'hlt' });
    expect(hv.regs.get(HV_REG.X0)).toBe(0x1_0000n);
    hv.regs.set(HV_REG.X0, 0x8400_0008n);
    hv.exits.push({ reason: EXCEPTION, esr: 0x5a00_0000n });
    expect(cpu.run()).toEqual({ kind: 'system-event', type: 1, data: [] });
  });

  it('reports a cancel as intr, the virtual timer as vtimer, and unhandled exceptions by class', () => {
    const { hv, cpu } = vcpu();
    hv.exits.push({ reason: 0 }, { reason: 2 }, { reason: EXCEPTION, esr: 0x6230_00a9n }, { reason: 3 });
    expect(cpu.run()).toEqual({ kind: 'intr' });
    expect(cpu.run()).toEqual({ kind: 'vtimer' });
    expect(cpu.run()).toEqual({ kind: 'unknown', reason: 0x18 });
    expect(cpu.run()).toEqual({ kind: 'unknown', reason: 0x103 });
    cpu.unmaskVtimer();
    cpu.setPendingInterrupt('irq', true);
    expect(hv.log.slice(-2)).toEqual(['vtimer mask false', 'pending 0 true']);
  });

  it('round-trips X0..X30, PC and CPSR', () => {
    const { cpu } = vcpu();
    const regs = { x: Array.from({ length: 31 }, (_, i) => BigInt(i) * 0x1111n), pc: 0x4008_0000n, cpsr: 0x3c5n };
    cpu.setRegs(regs);
    expect(cpu.getRegs()).toEqual(regs);
    expect(() => cpu.setRegs({ ...regs, x: [] })).toThrow(RangeError);
  });
});
