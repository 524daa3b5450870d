/**
 * `HvfVm`/`HvfVcpu` over a scripted stand-in for Hypervisor.framework: registers and VMCS
 * fields in maps, each hv_vcpu_run replaced by the next scripted exit (the VMCS values the
 * CPU would leave). This checks what the backend does with those values; whether real
 * hardware produces them is for the skipped-on-Linux test in src/ffi/hvf.test.ts and HVF.md.
 */
import { describe, expect, it } from 'vitest';
import { setupLongMode } from '../arch/x86_64/regs.js';
import type { HostMemory, HvfApi } from '../ffi/hvf.js';
import { HvfError } from '../ffi/hvf.js';
import type { Sregs } from '../kvm/structs.js';
import { HV_X86 } from './regs.js';
import { HvfVm } from './vm.js';
import type { HvfVcpu } from './vcpu.js';
import { ENTRY_CTLS, PROC_BASED, VMCS, VMX_EXIT } from './vmcs.js';

type Exit = { reason: number; qualification?: bigint; gpa?: bigint; linear?: bigint; length?: number; info?: number; idtVectoring?: number };

class FakeHvf implements HvfApi {
  readonly regs = new Map<number, bigint>();
  readonly vmcs = new Map<number, bigint>();
  readonly exits: Exit[] = [];
  readonly log: string[] = [];
  readonly native = new Set<number>();
  readonly msrs = new Map<number, bigint>();
  /** allowed-1 in the high half, must-be-1 in the low half: everything allowed, bit 1 forced. */
  capability = 0xffff_ffff_0000_0002n;
  #nextAddress = 0x7000_0000_0000n;

  vmCreate(): void { this.log.push('vm_create'); }
  vmDestroy(): void { this.log.push('vm_destroy'); }
  vmMap(uva: bigint, gpa: bigint, size: number, flags: bigint): void { this.log.push(`map ${uva.toString(16)} ${gpa.toString(16)} ${size.toString(16)} ${flags}`); }
  vmUnmap(gpa: bigint, size: number): void { this.log.push(`unmap ${gpa.toString(16)} ${size.toString(16)}`); }
  vmProtect(): void {}
  vcpuCreate(): number { this.log.push('vcpu_create'); return 7; }
  vcpuDestroy(vcpu: number): void { this.log.push(`vcpu_destroy ${vcpu}`); }
  vcpuRun(): void {
    const e = this.exits.shift();
    if (!e) throw new Error('no scripted exit left');
    this.vmcs.set(VMCS.EXIT_REASON, BigInt(e.reason));
    this.vmcs.set(VMCS.EXIT_QUALIFICATION, e.qualification ?? 0n);
    this.vmcs.set(VMCS.GUEST_PHYSICAL_ADDRESS, e.gpa ?? 0n);
    this.vmcs.set(VMCS.GUEST_LINEAR_ADDRESS, e.linear ?? 0n);
    this.vmcs.set(VMCS.EXIT_INSTRUCTION_LENGTH, BigInt(e.length ?? 0));
    this.vmcs.set(VMCS.EXIT_INSTRUCTION_INFO, BigInt(e.info ?? 0));
    this.vmcs.set(VMCS.IDT_VECTORING_INFO, BigInt(e.idtVectoring ?? 0));
    // An entry consumes the event it injected.
    this.vmcs.set(VMCS.ENTRY_INTR_INFO, 0n);
  }
  vcpuInterrupt(vcpus: readonly number[]): void { this.log.push(`interrupt ${vcpus.join(',')}`); }
  readRegister(_v: number, reg: number): bigint { return this.regs.get(reg) ?? 0n; }
  writeRegister(_v: number, reg: number, value: bigint): void { this.regs.set(reg, value); }
  readVmcs(_v: number, field: number): bigint { return this.vmcs.get(field) ?? 0n; }
  writeVmcs(_v: number, field: number, value: bigint): void { this.vmcs.set(field, value); }
  readCapability(): bigint { return this.capability; }
  enableNativeMsr(_v: number, msr: number, enable: boolean): void { if (enable) this.native.add(msr); }
  readMsr(_v: number, msr: number): bigint { return this.msrs.get(msr) ?? 0n; }
  writeMsr(_v: number, msr: number, value: bigint): void { this.msrs.set(msr, value); }
  readFpstate(_v: number, buf: Uint8Array): void { buf.fill(0xee); }
  writeFpstate(_v: number, buf: Uint8Array): void { this.log.push(`fpstate ${buf.length} ${new DataView(buf.buffer).getUint16(0, true).toString(16)} ${new DataView(buf.buffer).getUint32(24, true).toString(16)}`); }
  invalidateTlb(): void {}
  allocate(length: number): HostMemory {
    const address = this.#nextAddress;
    this.#nextAddress += 0x1_0000_0000n;
    return { address, length, buffer: new ArrayBuffer(length), free: () => this.log.push(`free ${address.toString(16)}`) };
  }
}

const CODE = 0x1000;
const ZERO_SREGS: Sregs = (() => {
  const seg = { base: 0n, limit: 0xffff, selector: 0, type: 3, present: 1, dpl: 0, db: 0, s: 1, l: 0, g: 0, avl: 0, unusable: 0 };
  return {
    cs: { ...seg, type: 0xb }, ds: seg, es: seg, fs: seg, gs: seg, ss: seg,
    tr: { ...seg, type: 0xb, s: 0 }, ldt: { ...seg, type: 2, s: 0 },
    gdt: { base: 0n, limit: 0xffff }, idt: { base: 0n, limit: 0xffff },
    cr0: 0x10n, cr2: 0n, cr3: 0n, cr4: 0n, cr8: 0n, efer: 0n, apicBase: 0xfee0_0900n,
    interruptBitmap: [0n, 0n, 0n, 0n],
  };
})();

/** A VM with 1 MiB of RAM, one vCPU in 64-bit mode (identity-mapped first GiB), RIP at CODE. */
function longModeVcpu(code: number[] = []): { hv: FakeHvf; vm: HvfVm; vcpu: HvfVcpu; ram: Uint8Array } {
  const hv = new FakeHvf();
  const vm = HvfVm.create({ api: hv });
  const mem = vm.addMemory([{ gpa: 0, size: 0x10_0000 }]);
  const vcpu = vm.createVcpu();
  vcpu.setSregs(setupLongMode(mem, ZERO_SREGS));
  mem.write(CODE, Uint8Array.from(code));
  hv.regs.set(HV_X86.RIP, BigInt(CODE));
  hv.regs.set(HV_X86.RFLAGS, 0x2n);
  return { hv, vm, vcpu, ram: mem.slice(0, 0x10_0000) };
}

describe('HvfVm', () => {
  it('maps each region read/write/exec at its gpa, refuses overlaps before mapping, and tears down in order', () => {
    const hv = new FakeHvf();
    const vm = HvfVm.create({ api: hv });
    const mem = vm.addMemory([{ gpa: 0, size: 0x2000 }, { gpa: 0x10_0000, size: 0x1000 }]);
    expect(mem.size).toBe(0x3000);
    expect(mem.regions.map((r) => r.hostAddress)).toEqual([0x7000_0000_0000n, 0x7001_0000_0000n]);
    expect(() => vm.addMemory([{ gpa: 0x1000, size: 0x1000 }])).toThrowError(expect.objectContaining({ code: 'MEMORY_OVERLAP' }) as Error);
    expect(() => vm.addMemory([{ gpa: 0x123, size: 0x1000 }])).toThrowError(expect.objectContaining({ code: 'MEMORY_REGION' }) as Error);
    const vcpu = vm.createVcpu();
    vm.interrupt();
    vm.close();
    expect(hv.log).toEqual([
      'vm_create',
      'map 700000000000 0 2000 7', // HV_MEMORY_READ | WRITE | EXEC
      'map 700100000000 100000 1000 7',
      'vcpu_create',
      `interrupt ${vcpu.hvId}`,
      'vcpu_destroy 7',
      'unmap 0 2000',
      'free 700000000000',
      'unmap 100000 1000',
      'free 700100000000',
      'vm_destroy',
    ]);
    expect(() => vm.createVcpu()).toThrowError(expect.objectContaining({ code: 'CLOSED' }) as Error);
  });

  it('frees host memory when hv_vm_map fails, and the HvfError reaches the caller', () => {
    const hv = new FakeHvf();
    hv.vmMap = () => {
      throw new HvfError('hv_vm_map', 0xfae94003);
    };
    const vm = HvfVm.create({ api: hv });
    expect(() => vm.addMemory([{ gpa: 0, size: 0x1000 }])).toThrowError(expect.objectContaining({ code: 'HV_BAD_ARGUMENT' }) as Error);
    expect(hv.log).toContain('free 700000000000');
    expect(vm.memory.size).toBe(0);
  });
});

describe('HvfVcpu setup and registers', () => {
  it('programs the VMX controls from the capabilities and passes the syscall MSRs through', () => {
    const { hv } = longModeVcpu();
    const proc = Number(hv.vmcs.get(VMCS.PRI_PROC_BASED_CTLS));
    expect(proc & PROC_BASED.HLT_EXITING).toBeTruthy();
    expect(proc & PROC_BASED.UNCONDITIONAL_IO_EXITING).toBeTruthy();
    expect(proc & 2).toBe(2); // the must-be-one bit from the capability
    expect(hv.vmcs.get(VMCS.EXCEPTION_BITMAP)).toBe(0n);
    expect(hv.native.has(0xc000_0082)).toBe(true); // LSTAR
    expect(hv.native.size).toBe(12);
  });

  it('keeps only the controls the capability allows', () => {
    const hv = new FakeHvf();
    hv.capability = 0x0000_0080_0000_0000n; // only bit 7 (HLT exiting) may be one
    const vm = HvfVm.create({ api: hv });
    vm.createVcpu();
    expect(hv.vmcs.get(VMCS.PRI_PROC_BASED_CTLS)).toBe(BigInt(PROC_BASED.HLT_EXITING));
  });

  it('round-trips general registers through hv_x86_reg_t ids', () => {
    const { hv, vcpu } = longModeVcpu();
    const regs = { ...vcpu.getRegs(), rax: 1n, rbx: 2n, r15: 0xffff_ffff_ffff_ffffn, rip: 0x10_0000n, rflags: 0x202n };
    vcpu.setRegs(regs);
    expect(hv.regs.get(2)).toBe(1n); // HV_X86_RAX
    expect(hv.regs.get(5)).toBe(2n); // HV_X86_RBX
    expect(hv.regs.get(0)).toBe(0x10_0000n); // HV_X86_RIP
    expect(vcpu.getRegs()).toEqual(regs);
  });

  it('loads long-mode special registers into the VMCS and reads back what the guest would see', () => {
    const hv = new FakeHvf();
    const vm = HvfVm.create({ api: hv });
    const mem = vm.addMemory([{ gpa: 0, size: 0x10_0000 }]);
    const vcpu = vm.createVcpu();
    const sregs = setupLongMode(mem, ZERO_SREGS);
    vcpu.setSregs(sregs);
    expect(hv.vmcs.get(VMCS.GUEST_CS_AR)).toBe(0xa09bn);
    expect(hv.vmcs.get(VMCS.GUEST_CS_LIMIT)).toBe(0xffff_ffffn);
    expect(hv.vmcs.get(VMCS.GUEST_TR_AR)).toBe(0x808bn);
    expect(hv.vmcs.get(VMCS.GUEST_GDTR_BASE)).toBe(0x500n);
    expect(hv.vmcs.get(VMCS.GUEST_CR0)! & 0x20n).toBe(0x20n); // NE forced for VMX
    expect(hv.vmcs.get(VMCS.GUEST_CR4)! & 0x2000n).toBe(0x2000n); // VMXE forced
    expect(hv.vmcs.get(VMCS.GUEST_IA32_EFER)).toBe(0x500n);
    expect(Number(hv.vmcs.get(VMCS.ENTRY_CTLS)) & ENTRY_CTLS.IA32E_MODE_GUEST).toBeTruthy();
    expect(vcpu.getSregs()).toEqual(sregs);
    expect(() => vcpu.setSregs({ ...sregs, interruptBitmap: [1n, 0n, 0n, 0n] })).toThrowError(expect.objectContaining({ code: 'UNSUPPORTED' }) as Error);
  });

  it('sets FCW and MXCSR inside the XSAVE area it read back', () => {
    const { hv, vcpu } = longModeVcpu();
    vcpu.setFpu({ fcw: 0x37f, mxcsr: 0x1f80 });
    expect(hv.log.at(-1)).toBe('fpstate 4096 37f 1f80');
  });
});

describe('HvfVcpu.run: port I/O', () => {
  const OUT_DX_AL = { reason: VMX_EXIT.IO_INSTRUCTION, qualification: 0x3f8n << 16n, length: 1 };

  it('hands `out dx, al` over with AL and steps RIP', () => {
    const { hv, vcpu } = longModeVcpu();
    hv.regs.set(HV_X86.RAX, 0x1234_5641n);
    hv.exits.push(OUT_DX_AL);
    const exit = vcpu.run();
    expect(exit).toMatchObject({ kind: 'io-out', port: 0x3f8, size: 1, count: 1 });
    expect(exit.kind === 'io-out' && [...exit.data]).toEqual([0x41]);
    expect(hv.regs.get(HV_X86.RIP)).toBe(BigInt(CODE + 1));
  });

  it('completes `in eax, 0x71` on the next run: zero-extended into RAX, RIP stepped', () => {
    const { hv, vcpu } = longModeVcpu();
    hv.regs.set(HV_X86.RAX, 0xffff_ffff_ffff_ffffn);
    hv.exits.push({ reason: VMX_EXIT.IO_INSTRUCTION, qualification: (0x71n << 16n) | 0x4bn, length: 2 }, { reason: VMX_EXIT.HLT, length: 1 });
    const exit = vcpu.run();
    expect(exit).toMatchObject({ kind: 'io-in', port: 0x71, size: 4 });
    if (exit.kind !== 'io-in') throw new Error('expected io-in');
    exit.data.set([1, 2, 3, 4]);
    expect(hv.regs.get(HV_X86.RIP)).toBe(BigInt(CODE)); // not yet
    expect(vcpu.run()).toEqual({ kind: 'hlt' });
    expect(hv.regs.get(HV_X86.RAX)).toBe(0x0403_0201n);
    expect(hv.regs.get(HV_X86.RIP)).toBe(BigInt(CODE + 3)); // in (2) + hlt (1)
  });

  it('merges `in al, dx` into the low byte only', () => {
    const { hv, vcpu } = longModeVcpu();
    hv.regs.set(HV_X86.RAX, 0xffff_ffff_ffff_ffffn);
    hv.exits.push({ reason: VMX_EXIT.IO_INSTRUCTION, qualification: (0x60n << 16n) | 0x8n, length: 1 }, { reason: VMX_EXIT.HLT, length: 1 });
    const exit = vcpu.run();
    if (exit.kind !== 'io-in') throw new Error('expected io-in');
    exit.data[0] = 0x42;
    vcpu.run();
    expect(hv.regs.get(HV_X86.RAX)).toBe(0xffff_ffff_ffff_ff42n);
  });

  it('runs `rep outsb` one element per exit through the page tables, RIP stepped after the last', () => {
    const { hv, vcpu, ram } = longModeVcpu();
    ram.set([0x41, 0x42], 0x8000);
    hv.regs.set(HV_X86.RSI, 0x8000n);
    hv.regs.set(HV_X86.RCX, 2n);
    // port 0x3f8, rep[5], string[4], out, 1 byte; address size 64 (instruction info 2 << 7)
    const rep = (linear: bigint): Exit => ({ reason: VMX_EXIT.IO_INSTRUCTION, qualification: (0x3f8n << 16n) | 0x30n, linear, length: 2, info: 2 << 7 });
    hv.exits.push(rep(0x8000n), rep(0x8001n));
    const first = vcpu.run();
    expect(first.kind === 'io-out' && [...first.data]).toEqual([0x41]);
    expect([hv.regs.get(HV_X86.RSI), hv.regs.get(HV_X86.RCX), hv.regs.get(HV_X86.RIP)]).toEqual([0x8001n, 1n, BigInt(CODE)]);
    const second = vcpu.run();
    expect(second.kind === 'io-out' && [...second.data]).toEqual([0x42]);
    expect([hv.regs.get(HV_X86.RSI), hv.regs.get(HV_X86.RCX), hv.regs.get(HV_X86.RIP)]).toEqual([0x8002n, 0n, BigInt(CODE + 2)]);
  });

  it('writes `insw` data to guest memory at RDI on the next run and moves RDI backwards under DF', () => {
    const { hv, vcpu, ram } = longModeVcpu();
    hv.regs.set(HV_X86.RDI, 0x9100n);
    hv.regs.set(HV_X86.RFLAGS, 0x402n); // DF
    hv.exits.push({ reason: VMX_EXIT.IO_INSTRUCTION, qualification: (0x1f0n << 16n) | 0x19n, linear: 0x9100n, length: 2, info: 2 << 7 }, { reason: VMX_EXIT.HLT, length: 1 });
    const exit = vcpu.run();
    if (exit.kind !== 'io-in') throw new Error('expected io-in');
    exit.data.set([0xcd, 0xab]);
    vcpu.run();
    expect([ram[0x9100], ram[0x9101]]).toEqual([0xcd, 0xab]);
    expect(hv.regs.get(HV_X86.RDI)).toBe(0x90fen);
  });
});

describe('HvfVcpu.run: MMIO from EPT violations', () => {
  const MMIO = 0xd000_0000n;

  it('decodes `mov %ecx,(%rdx)` into an mmio-write of ECX and steps RIP', () => {
    const { hv, vcpu } = longModeVcpu([0x89, 0x0a]);
    hv.regs.set(HV_X86.RCX, 0xffff_ffff_dead_beefn);
    hv.exits.push({ reason: VMX_EXIT.EPT_VIOLATION, qualification: 0x2n, gpa: MMIO });
    const exit = vcpu.run();
    expect(exit).toMatchObject({ kind: 'mmio-write', address: MMIO, len: 4 });
    expect(exit.kind === 'mmio-write' && [...exit.data]).toEqual([0xef, 0xbe, 0xad, 0xde]);
    expect(hv.regs.get(HV_X86.RIP)).toBe(BigInt(CODE + 2));
  });

  it('completes `mov 0x10(%rdi),%rax` (readq) into RAX on the next run', () => {
    const { hv, vcpu } = longModeVcpu([0x48, 0x8b, 0x47, 0x10]);
    hv.exits.push({ reason: VMX_EXIT.EPT_VIOLATION, qualification: 0x1n, gpa: MMIO + 0x10n }, { reason: VMX_EXIT.HLT, length: 1 });
    const exit = vcpu.run();
    expect(exit).toMatchObject({ kind: 'mmio-read', address: MMIO + 0x10n, len: 8 });
    if (exit.kind !== 'mmio-read') throw new Error('expected mmio-read');
    exit.data.set([1, 2, 3, 4, 5, 6, 7, 8]);
    vcpu.run();
    expect(hv.regs.get(HV_X86.RAX)).toBe(0x0807_0605_0403_0201n);
    expect(hv.regs.get(HV_X86.RIP)).toBe(BigInt(CODE + 4 + 1));
  });

  it('zero-extends `movzbl (%rdx),%ecx` into RCX', () => {
    const { hv, vcpu } = longModeVcpu([0x0f, 0xb6, 0x0a]);
    hv.regs.set(HV_X86.RCX, 0xffff_ffff_ffff_ffffn);
    hv.exits.push({ reason: VMX_EXIT.EPT_VIOLATION, qualification: 0x1n, gpa: MMIO }, { reason: VMX_EXIT.HLT, length: 1 });
    const exit = vcpu.run();
    if (exit.kind !== 'mmio-read') throw new Error('expected mmio-read');
    exit.data[0] = 0x80;
    vcpu.run();
    expect(hv.regs.get(HV_X86.RCX)).toBe(0x80n);
  });

  it('fetches the instruction at CS.base + IP in real mode and decodes it with 16-bit operands', () => {
    const hv = new FakeHvf();
    const vm = HvfVm.create({ api: hv });
    const mem = vm.addMemory([{ gpa: 0, size: 0x2_0000 }]);
    const vcpu = vm.createVcpu();
    // Real mode: CS = 0x1000 (base 0x10000), 16-bit code segment, paging and protection off.
    vcpu.setSregs({ ...ZERO_SREGS, cs: { ...ZERO_SREGS.cs, selector: 0x1000, base: 0x1_0000n } });
    mem.write(0x1_0100, Uint8Array.from([0x89, 0x07])); // mov [bx], ax
    hv.regs.set(HV_X86.RIP, 0x100n);
    hv.regs.set(HV_X86.RAX, 0x1234_abcdn);
    hv.exits.push({ reason: VMX_EXIT.EPT_VIOLATION, qualification: 0x2n, gpa: 0xb_8000n + 0x10_0000n });
    const exit = vcpu.run();
    expect(exit).toMatchObject({ kind: 'mmio-write', len: 2 });
    expect(exit.kind === 'mmio-write' && [...exit.data]).toEqual([0xcd, 0xab]);
    expect(hv.regs.get(HV_X86.RIP)).toBe(0x102n);
  });

  it('reports an instruction it cannot emulate as KVM does (internal error, emulation), RIP untouched', () => {
    const { hv, vcpu } = longModeVcpu([0xf3, 0xa4]); // rep movsb
    hv.exits.push({ reason: VMX_EXIT.EPT_VIOLATION, qualification: 0x2n, gpa: MMIO });
    expect(vcpu.run()).toEqual({ kind: 'internal-error', suberror: 1, data: [MMIO, BigInt(CODE), 0xa4f3n] });
    expect(hv.regs.get(HV_X86.RIP)).toBe(BigInt(CODE));
  });

  it('refuses an instruction whose direction contradicts the EPT violation', () => {
    const { hv, vcpu } = longModeVcpu([0x89, 0x0a]); // a store...
    hv.exits.push({ reason: VMX_EXIT.EPT_VIOLATION, qualification: 0x1n, gpa: MMIO }); // ...reported as a read
    expect(vcpu.run()).toMatchObject({ kind: 'internal-error', suberror: 1 });
  });

  it('delivers again an interrupt whose delivery the exit cut short', () => {
    const { hv, vcpu } = longModeVcpu([0x89, 0x0a]);
    hv.exits.push({ reason: VMX_EXIT.EPT_VIOLATION, qualification: 0x2n, gpa: MMIO, idtVectoring: 0x8000_0030 });
    expect(vcpu.run()).toMatchObject({ kind: 'mmio-write' });
    expect(hv.vmcs.get(VMCS.ENTRY_INTR_INFO)).toBe(0x8000_0030n);
    hv.regs.set(HV_X86.RFLAGS, 0x202n); // IF set: only the queued event stands in the way
    expect(vcpu.injectInterrupt(0x31)).toBe(false); // the slot is taken until that entry
  });

  it('re-enters on EPT violations inside RAM, then gives up if one keeps coming back', () => {
    const { hv, vcpu } = longModeVcpu();
    hv.exits.push({ reason: VMX_EXIT.EPT_VIOLATION, qualification: 0x1n, gpa: 0x2000n }, { reason: VMX_EXIT.HLT, length: 1 });
    expect(vcpu.run()).toEqual({ kind: 'hlt' });
    for (let i = 0; i < 16; i++) hv.exits.push({ reason: VMX_EXIT.EPT_VIOLATION, qualification: 0x1n, gpa: 0x3000n });
    expect(vcpu.run()).toEqual({ kind: 'unknown', reason: VMX_EXIT.EPT_VIOLATION });
  });
});

describe('HvfVcpu.run: exits the backend answers itself', () => {
  it('answers CPUID from the table and goes on to the next exit', () => {
    const { hv, vcpu } = longModeVcpu();
    vcpu.setCpuid([{ function: 0, index: 0, flags: 0, eax: 0xd, ebx: 0x756e6547, ecx: 0x6c65746e, edx: 0x49656e69 }]);
    hv.regs.set(HV_X86.RAX, 0n);
    hv.regs.set(HV_X86.RBX, 0xffff_ffff_ffff_ffffn);
    hv.exits.push({ reason: VMX_EXIT.CPUID, length: 2 }, { reason: VMX_EXIT.HLT, length: 1 });
    expect(vcpu.run()).toEqual({ kind: 'hlt' });
    expect([HV_X86.RAX, HV_X86.RBX, HV_X86.RCX, HV_X86.RDX].map((r) => hv.regs.get(r))).toEqual([0xdn, 0x756e6547n, 0x6c65746en, 0x49656e69n]);
    expect(hv.regs.get(HV_X86.RIP)).toBe(BigInt(CODE + 3));
  });

  it('answers RDMSR of an emulated MSR in EDX:EAX and injects #GP(0) for an unknown one', () => {
    const { hv, vcpu } = longModeVcpu();
    hv.regs.set(HV_X86.RCX, 0x277n); // IA32_PAT
    hv.exits.push({ reason: VMX_EXIT.RDMSR, length: 2 }, { reason: VMX_EXIT.HLT, length: 1 });
    vcpu.run();
    expect([hv.regs.get(HV_X86.RAX), hv.regs.get(HV_X86.RDX)]).toEqual([0x0007_0406n, 0x0007_0406n]);

    const fresh = longModeVcpu();
    fresh.hv.regs.set(HV_X86.RCX, 0x4b56_4d00n);
    let injected = 0n;
    fresh.hv.exits.push({ reason: VMX_EXIT.RDMSR, length: 2 });
    fresh.hv.vcpuRun = ((run) => () => {
      injected = fresh.hv.vmcs.get(VMCS.ENTRY_INTR_INFO) ?? 0n;
      run.call(fresh.hv);
      if (!fresh.hv.exits.length) fresh.hv.exits.push({ reason: VMX_EXIT.HLT, length: 1 });
    })(fresh.hv.vcpuRun);
    fresh.vcpu.run();
    // vector 13, type 3 (hardware exception), deliver error code, valid
    expect(injected).toBe(0x8000_0b0dn);
    expect(fresh.hv.vmcs.get(VMCS.ENTRY_EXCEPTION_ERROR_CODE)).toBe(0n);
    expect(fresh.hv.regs.get(HV_X86.RIP)).toBe(BigInt(CODE + 1)); // only the HLT: RDMSR faulted
  });

  it('takes WRMSR to EFER through the VMCS and pass-through MSRs through hv_vcpu_write_msr', () => {
    const { hv, vcpu } = longModeVcpu();
    hv.regs.set(HV_X86.RCX, 0xc000_0080n);
    hv.regs.set(HV_X86.RDX, 0n);
    hv.regs.set(HV_X86.RAX, 0xd01n); // SCE | LME | LMA | NXE
    hv.exits.push({ reason: VMX_EXIT.WRMSR, length: 2 }, { reason: VMX_EXIT.HLT, length: 1 });
    vcpu.run();
    expect(hv.vmcs.get(VMCS.GUEST_IA32_EFER)).toBe(0xd01n);
    vcpu.setMsrs([{ index: 0xc000_0082, data: 0xffff_ffff_8100_0000n }, { index: 0x4b56_4d01, data: 5n }]);
    expect(hv.msrs.get(0xc000_0082)).toBe(0xffff_ffff_8100_0000n);
    hv.regs.set(HV_X86.RCX, 0x4b56_4d01n);
    hv.exits.push({ reason: VMX_EXIT.RDMSR, length: 2 }, { reason: VMX_EXIT.HLT, length: 1 });
    vcpu.run();
    expect(hv.regs.get(HV_X86.RAX)).toBe(5n); // set with setMsrs, then readable by the guest
  });

  it('turns on long mode when the guest sets CR0.PG with EFER.LME (a CR-access exit)', () => {
    const hv = new FakeHvf();
    const vm = HvfVm.create({ api: hv });
    vm.addMemory([{ gpa: 0, size: 0x1000 }]);
    const vcpu = vm.createVcpu();
    vcpu.setSregs({ ...ZERO_SREGS, cr0: 0x11n, cr4: 0x20n, efer: 0x100n });
    expect(hv.vmcs.get(VMCS.GUEST_IA32_EFER)).toBe(0x100n);
    hv.regs.set(HV_X86.RBX, 0x8000_0011n);
    // mov cr0, rbx: cr 0, mov-to, gpr 3
    hv.exits.push({ reason: VMX_EXIT.CR_ACCESS, qualification: 0x300n, length: 3 }, { reason: VMX_EXIT.HLT, length: 1 });
    vcpu.run();
    expect(hv.vmcs.get(VMCS.GUEST_IA32_EFER)).toBe(0x500n);
    expect(Number(hv.vmcs.get(VMCS.ENTRY_CTLS)) & ENTRY_CTLS.IA32E_MODE_GUEST).toBeTruthy();
    expect(vcpu.getSregs().cr0).toBe(0x8000_0011n);
  });
});

describe('HvfVcpu.run: exits for the VMM loop', () => {
  it('maps triple fault, external interrupt, failed entry and the rest', () => {
    const { hv, vcpu } = longModeVcpu();
    hv.exits.push(
      { reason: VMX_EXIT.TRIPLE_FAULT },
      { reason: VMX_EXIT.EXTERNAL_INTERRUPT },
      { reason: 0x8000_0000 | VMX_EXIT.ENTRY_FAIL_GUEST_STATE },
      { reason: VMX_EXIT.VMCALL, length: 3 },
    );
    expect(vcpu.run()).toEqual({ kind: 'shutdown' });
    expect(vcpu.run()).toEqual({ kind: 'intr' });
    expect(vcpu.run()).toEqual({ kind: 'fail-entry', reason: 33n, cpu: 0 });
    expect(vcpu.run()).toEqual({ kind: 'unknown', reason: VMX_EXIT.VMCALL });
  });

  it('injects an interrupt only when the guest can take it, and reports the window once asked', () => {
    const { hv, vcpu } = longModeVcpu();
    expect(vcpu.injectInterrupt(0x30)).toBe(false); // IF clear
    vcpu.requestInterruptWindow();
    expect(Number(hv.vmcs.get(VMCS.PRI_PROC_BASED_CTLS)) & PROC_BASED.INTERRUPT_WINDOW_EXITING).toBeTruthy();
    hv.exits.push({ reason: VMX_EXIT.INTERRUPT_WINDOW });
    expect(vcpu.run()).toEqual({ kind: 'irq-window-open' });
    expect(Number(hv.vmcs.get(VMCS.PRI_PROC_BASED_CTLS)) & PROC_BASED.INTERRUPT_WINDOW_EXITING).toBe(0);
    hv.regs.set(HV_X86.RFLAGS, 0x202n);
    expect(vcpu.injectInterrupt(0x30)).toBe(true);
    expect(hv.vmcs.get(VMCS.ENTRY_INTR_INFO)).toBe(0x8000_0030n); // vector 0x30, external, valid
    expect(vcpu.injectInterrupt(0x31)).toBe(false); // one already queued
  });

  it('refuses use after close', () => {
    const { vcpu } = longModeVcpu();
    vcpu.close();
    expect(() => vcpu.run()).toThrowError(expect.objectContaining({ code: 'CLOSED' }) as Error);
  });
});
