/**
 * `HvfVcpu`: one vCPU on the x86_64 Hypervisor.framework, shaped like the KVM `Vcpu`
 * (`getRegs`/`setRegs`, `getSregs`/`setSregs`, `setCpuid`, `setMsrs`, `setFpu`, `run()`
 * returning a `VcpuExit`). HVF stops at every VMX exit and leaves to the VMM what KVM does
 * in the kernel, so `run()` also:
 *
 * - decodes the exit from the VMCS (`decodeVmxExit`) and answers CPUID, RDMSR/WRMSR,
 *   XSETBV and control-register exits itself, then re-enters the guest;
 * - turns port I/O into `io-in`/`io-out` (string I/O one element per exit, through the
 *   guest's page tables) and EPT violations outside RAM into `mmio-read`/`mmio-write` by
 *   decoding the instruction at RIP (`decodeMmioInstruction`);
 * - completes an `io-in`/`mmio-read` on the next `run()` from the `data` the handler
 *   filled (into RAX, the destination register, or guest memory for INS) and steps RIP,
 *   exactly the contract of KVM_RUN.
 *
 * HVF binds a vCPU to the thread that created it: create, run and close it on one thread.
 */
import { HyperkitError } from '../errors.js';
import type { CpuidEntry } from '../arch/x86_64/cpuid.js';
import type { HvfApi } from '../ffi/hvf.js';
import { HV_VMX_CAP } from '../ffi/hvf.js';
import type { Regs, Sregs } from '../kvm/structs.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import type { VcpuExit } from '../vcpu/exit.js';
import { CR0_OWNED, CR0_TS, CR4_OWNED, controlState, guestView, lmsw, EFER_LMA } from './control.js';
import { cpuidLookup, DEFAULT_EMULATED_MSRS, defaultApicBase, MSR, NATIVE_MSRS } from './cpu-state.js';
import { decodeMmioInstruction, readGpr, writeGpr, type CpuMode, type MmioInstruction } from './decode.js';
import { decodeVmxExit, reinjection, type VmxExit, type VmxExitInfo } from './exit.js';
import { readLinear, writeLinear, type PagingState } from './paging.js';
import { GPR_BY_ENCODING, HV_X86, REG_IDS, SEGMENT_FIELDS, segmentAccessRights, segmentFromVmcs, type SegmentName } from './regs.js';
import {
  cap2ctrl,
  ENTRY_CTLS,
  INTERRUPTIBILITY_BLOCKING,
  INTR_INFO_DELIVER_ERROR_CODE,
  INTR_INFO_VALID,
  INTR_TYPE,
  PIN_BASED,
  PROC_BASED,
  PROC_BASED2,
  VMCS,
  VMX_EXIT,
} from './vmcs.js';

const SEGMENTS: readonly SegmentName[] = ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'tr', 'ldt'];
const RFLAGS_IF = 1n << 9n;
const RFLAGS_DF = 1n << 10n;
const VECTOR_GP = 13;
/** The XSAVE area HVF reads and writes (QEMU's HVF backend uses the same size). */
const FPSTATE_SIZE = 4096;
/** KVM_INTERNAL_ERROR_EMULATION: the suberror KVM reports when its own emulator gives up. */
export const INTERNAL_ERROR_EMULATION = 1;
/** Consecutive EPT violations on RAM at one address before `run()` gives up (HVF normally resolves these itself). */
const MAX_RAM_FAULTS = 16;

type Pending =
  | { kind: 'in'; size: 1 | 2 | 4; length: number }
  | { kind: 'ins'; exit: Extract<VmxExit, { kind: 'io' }> }
  | { kind: 'mmio'; insn: Extract<MmioInstruction, { op: 'load' }> };

export class HvfVcpu {
  /** The vCPU's index in its VM (what KVM calls the vCPU id). */
  readonly id: number;
  /** The hv_vcpuid_t the framework gave it. */
  readonly hvId: number;
  readonly #api: HvfApi;
  readonly #memory: () => GuestMemory;
  #closed = false;
  #cpuid: readonly CpuidEntry[] = [];
  readonly #msrs = new Map(DEFAULT_EMULATED_MSRS);
  #apicBase: bigint;
  #procCtls = 0;
  #pending: Pending | undefined;
  #ramFaults = { gpa: -1n, count: 0 };
  /** Where io/mmio exits hand their data over; `VcpuExit.data` views it. */
  readonly #data = new Uint8Array(8);

  /** @internal Created by `HvfVm.createVcpu()`, on the calling thread. */
  constructor(api: HvfApi, id: number, memory: () => GuestMemory) {
    this.#api = api;
    this.id = id;
    this.#memory = memory;
    this.#apicBase = defaultApicBase(id);
    this.hvId = api.vcpuCreate();
    try {
      this.#initControls();
    } catch (err) {
      api.vcpuDestroy(this.hvId);
      throw err;
    }
  }

  /**
   * VM-execution controls from the capabilities (each asked-for bit kept only if the CPU
   * allows it, every must-be-one bit added): exit on external interrupts, NMIs, HLT, every
   * port access and CR8 access; EPT and unrestricted guest; EFER loaded on entry. No
   * exception exits. CR0.NE/PG and CR4.VMXE are owned by the VMM (see control.ts).
   */
  #initControls(): void {
    const api = this.#api;
    const cap = (c: number): bigint => api.readCapability(c);
    const w = (field: number, value: number | bigint): void => api.writeVmcs(this.hvId, field, BigInt(value));
    w(VMCS.PIN_BASED_CTLS, cap2ctrl(cap(HV_VMX_CAP.PINBASED), PIN_BASED.EXTERNAL_INTERRUPT_EXITING | PIN_BASED.NMI_EXITING));
    this.#procCtls = cap2ctrl(
      cap(HV_VMX_CAP.PROCBASED),
      PROC_BASED.HLT_EXITING |
        PROC_BASED.UNCONDITIONAL_IO_EXITING |
        PROC_BASED.CR8_LOAD_EXITING |
        PROC_BASED.CR8_STORE_EXITING |
        PROC_BASED.SECONDARY_CONTROLS,
    );
    w(VMCS.PRI_PROC_BASED_CTLS, this.#procCtls);
    w(VMCS.SEC_PROC_BASED_CTLS, cap2ctrl(cap(HV_VMX_CAP.PROCBASED2), PROC_BASED2.ENABLE_EPT | PROC_BASED2.UNRESTRICTED_GUEST));
    w(VMCS.ENTRY_CTLS, cap2ctrl(cap(HV_VMX_CAP.ENTRY), ENTRY_CTLS.LOAD_IA32_EFER));
    w(VMCS.EXCEPTION_BITMAP, 0);
    w(VMCS.CR0_MASK, CR0_OWNED);
    w(VMCS.CR4_MASK, CR4_OWNED);
    w(VMCS.TPR_THRESHOLD, 0);
    for (const msr of NATIVE_MSRS) api.enableNativeMsr(this.hvId, msr, true);
  }

  #check(): void {
    if (this.#closed) throw new HyperkitError('CLOSED', `vCPU ${this.id} is closed`);
  }
  #reg(id: number): bigint {
    return this.#api.readRegister(this.hvId, id);
  }
  #setReg(id: number, value: bigint): void {
    this.#api.writeRegister(this.hvId, id, value);
  }
  #vmcs(field: number): bigint {
    return this.#api.readVmcs(this.hvId, field);
  }
  #setVmcs(field: number, value: bigint | number): void {
    this.#api.writeVmcs(this.hvId, field, BigInt(value));
  }

  getRegs(): Regs {
    this.#check();
    const out = {} as Regs;
    for (const [name, id] of Object.entries(REG_IDS) as [keyof Regs, number][]) out[name] = this.#reg(id);
    return out;
  }

  setRegs(regs: Regs): void {
    this.#check();
    for (const [name, id] of Object.entries(REG_IDS) as [keyof Regs, number][]) this.#setReg(id, BigInt.asUintN(64, regs[name]));
  }

  getSregs(): Sregs {
    this.#check();
    const seg = (n: SegmentName): Sregs[SegmentName] => {
      const f = SEGMENT_FIELDS[n];
      return segmentFromVmcs(Number(this.#vmcs(f.selector)), this.#vmcs(f.base), Number(this.#vmcs(f.limit)), Number(this.#vmcs(f.ar)));
    };
    const segs = Object.fromEntries(SEGMENTS.map((n) => [n, seg(n)])) as Record<SegmentName, Sregs[SegmentName]>;
    return {
      ...segs,
      gdt: { base: this.#vmcs(VMCS.GUEST_GDTR_BASE), limit: Number(this.#vmcs(VMCS.GUEST_GDTR_LIMIT) & 0xffffn) },
      idt: { base: this.#vmcs(VMCS.GUEST_IDTR_BASE), limit: Number(this.#vmcs(VMCS.GUEST_IDTR_LIMIT) & 0xffffn) },
      cr0: this.#cr0(),
      cr2: this.#reg(HV_X86.CR2),
      cr3: this.#vmcs(VMCS.GUEST_CR3),
      cr4: this.#cr4(),
      // CR8 is the TPR's priority class: TPR[7:4].
      cr8: (this.#reg(HV_X86.TPR) >> 4n) & 0xfn,
      efer: this.#vmcs(VMCS.GUEST_IA32_EFER),
      apicBase: this.#apicBase,
      interruptBitmap: [0n, 0n, 0n, 0n],
    };
  }

  /**
   * Loads segments, descriptor tables and control registers. A pending interrupt in
   * `interruptBitmap` is refused: without an in-kernel irqchip, inject with
   * `injectInterrupt` instead.
   */
  setSregs(s: Sregs): void {
    this.#check();
    if (s.interruptBitmap.some((w) => w !== 0n)) {
      throw new HyperkitError('UNSUPPORTED', 'HVF has no pending-interrupt bitmap; use injectInterrupt()');
    }
    for (const n of SEGMENTS) {
      const f = SEGMENT_FIELDS[n];
      const seg = s[n];
      this.#setVmcs(f.selector, seg.selector);
      this.#setVmcs(f.base, seg.base);
      this.#setVmcs(f.limit, seg.limit >>> 0);
      this.#setVmcs(f.ar, segmentAccessRights(seg));
    }
    this.#setVmcs(VMCS.GUEST_GDTR_BASE, s.gdt.base);
    this.#setVmcs(VMCS.GUEST_GDTR_LIMIT, s.gdt.limit);
    this.#setVmcs(VMCS.GUEST_IDTR_BASE, s.idt.base);
    this.#setVmcs(VMCS.GUEST_IDTR_LIMIT, s.idt.limit);
    this.#setReg(HV_X86.CR2, s.cr2);
    this.#setVmcs(VMCS.GUEST_CR3, s.cr3);
    this.#setReg(HV_X86.TPR, (s.cr8 & 0xfn) << 4n);
    this.#apicBase = s.apicBase;
    this.#setControl(s.cr0, s.cr4, s.efer);
  }

  #cr0(): bigint {
    return guestView(this.#vmcs(VMCS.GUEST_CR0), this.#vmcs(VMCS.CR0_SHADOW), CR0_OWNED);
  }
  #cr4(): bigint {
    return guestView(this.#vmcs(VMCS.GUEST_CR4), this.#vmcs(VMCS.CR4_SHADOW), CR4_OWNED);
  }
  #setControl(cr0: bigint, cr4: bigint, efer: bigint): void {
    const c = controlState(cr0, cr4, efer, Number(this.#vmcs(VMCS.ENTRY_CTLS)));
    this.#setVmcs(VMCS.GUEST_IA32_EFER, c.efer);
    this.#setVmcs(VMCS.ENTRY_CTLS, c.entryCtls);
    this.#setVmcs(VMCS.CR0_SHADOW, c.cr0Shadow);
    this.#setVmcs(VMCS.GUEST_CR0, c.guestCr0);
    this.#setVmcs(VMCS.CR4_SHADOW, c.cr4Shadow);
    this.#setVmcs(VMCS.GUEST_CR4, c.guestCr4);
  }

  /** The CPUID table the guest sees (KVM's `kvm_cpuid_entry2` entries); missing leaves read as zeros. */
  setCpuid(entries: readonly CpuidEntry[]): void {
    this.#cpuid = [...entries];
  }

  /** Sets MSRs: pass-through ones in the CPU, EFER in the VMCS, the rest in the backend's table. */
  setMsrs(msrs: ReadonlyArray<{ index: number; data: bigint }>): void {
    this.#check();
    for (const { index, data } of msrs) {
      if (!this.#writeMsr(index, data)) this.#msrs.set(index, data);
    }
  }

  /** Sets the x87 control word and MXCSR in the XSAVE area (legacy region: FCW at 0, MXCSR at 24). */
  setFpu({ fcw, mxcsr }: { fcw: number; mxcsr: number }): void {
    this.#check();
    const buf = new Uint8Array(FPSTATE_SIZE);
    this.#api.readFpstate(this.hvId, buf);
    const dv = new DataView(buf.buffer);
    dv.setUint16(0, fcw, true);
    dv.setUint32(24, mxcsr, true);
    this.#api.writeFpstate(this.hvId, buf);
  }

  /**
   * Queues external interrupt `vector` for the next entry if the guest can take it now
   * (RFLAGS.IF set, no STI/MOV SS shadow, nothing already queued); false otherwise: then
   * call `requestInterruptWindow()` and retry on the `irq-window-open` exit.
   */
  injectInterrupt(vector: number): boolean {
    this.#check();
    if (!(this.#reg(HV_X86.RFLAGS) & RFLAGS_IF)) return false;
    if (Number(this.#vmcs(VMCS.GUEST_INTERRUPTIBILITY)) & INTERRUPTIBILITY_BLOCKING) return false;
    if (Number(this.#vmcs(VMCS.ENTRY_INTR_INFO)) & INTR_INFO_VALID) return false;
    this.#setVmcs(VMCS.ENTRY_INTR_INFO, ((vector & 0xff) | (INTR_TYPE.EXTERNAL << 8) | INTR_INFO_VALID) >>> 0);
    return true;
  }

  /** Exit with `irq-window-open` as soon as the guest can take an interrupt (one shot). */
  requestInterruptWindow(): void {
    this.#check();
    this.#procCtls = (this.#procCtls | PROC_BASED.INTERRUPT_WINDOW_EXITING) >>> 0;
    this.#setVmcs(VMCS.PRI_PROC_BASED_CTLS, this.#procCtls);
  }

  #injectException(vector: number, errorCode?: number): void {
    let info = (vector & 0xff) | (INTR_TYPE.HARDWARE_EXCEPTION << 8) | INTR_INFO_VALID;
    if (errorCode !== undefined) {
      info |= INTR_INFO_DELIVER_ERROR_CODE;
      this.#setVmcs(VMCS.ENTRY_EXCEPTION_ERROR_CODE, errorCode);
    }
    this.#setVmcs(VMCS.ENTRY_INTR_INFO, info >>> 0);
  }

  /** Steps RIP over the instruction that exited; its STI/MOV SS interrupt shadow ends with it. */
  #skip(length: number): void {
    this.#setReg(HV_X86.RIP, BigInt.asUintN(64, this.#reg(HV_X86.RIP) + BigInt(length)));
    const intr = Number(this.#vmcs(VMCS.GUEST_INTERRUPTIBILITY));
    if (intr & INTERRUPTIBILITY_BLOCKING) this.#setVmcs(VMCS.GUEST_INTERRUPTIBILITY, intr & ~INTERRUPTIBILITY_BLOCKING);
  }

  #paging(): PagingState {
    return { cr0: this.#cr0(), cr3: this.#vmcs(VMCS.GUEST_CR3), cr4: this.#cr4(), efer: this.#vmcs(VMCS.GUEST_IA32_EFER) };
  }

  #readExitInfo(): VmxExitInfo {
    const n = (f: number): number => Number(this.#vmcs(f) & 0xffff_ffffn);
    return {
      reason: n(VMCS.EXIT_REASON),
      qualification: this.#vmcs(VMCS.EXIT_QUALIFICATION),
      guestPhysical: this.#vmcs(VMCS.GUEST_PHYSICAL_ADDRESS),
      guestLinear: this.#vmcs(VMCS.GUEST_LINEAR_ADDRESS),
      instructionLength: n(VMCS.EXIT_INSTRUCTION_LENGTH),
      instructionInfo: n(VMCS.EXIT_INSTRUCTION_INFO),
      interruptionInfo: n(VMCS.EXIT_INTR_INFO),
      interruptionErrorCode: n(VMCS.EXIT_INTR_ERROR_CODE),
      idtVectoringInfo: n(VMCS.IDT_VECTORING_INFO),
      idtVectoringErrorCode: n(VMCS.IDT_VECTORING_ERROR_CODE),
    };
  }

  /**
   * Runs the vCPU until an exit the VMM must see. An `io-in`/`mmio-read` exit's `data`
   * must be filled before the next call, which completes the guest's instruction.
   * `reason` of an `unknown` exit is the VMX basic exit reason (SDM Appendix C).
   */
  run(): VcpuExit {
    this.#check();
    const completion = this.#complete();
    if (completion) return completion;
    for (;;) {
      this.#api.vcpuRun(this.hvId);
      const info = this.#readExitInfo();
      const redo = reinjection(info);
      if (redo) {
        // The exit cut an event's delivery short: deliver it again on the next entry.
        this.#setVmcs(VMCS.ENTRY_INTR_INFO, redo.intrInfo);
        if (redo.errorCode !== undefined) this.#setVmcs(VMCS.ENTRY_EXCEPTION_ERROR_CODE, redo.errorCode);
        if (redo.instructionLength !== undefined) this.#setVmcs(VMCS.ENTRY_INSTRUCTION_LENGTH, redo.instructionLength);
      }
      const out = this.#handle(decodeVmxExit(info), info);
      if (out) return out;
    }
  }

  /** Finishes the instruction an `io-in`/`mmio-read` exit left pending. */
  #complete(): VcpuExit | undefined {
    const p = this.#pending;
    this.#pending = undefined;
    if (!p) return undefined;
    const le = (size: number): bigint => {
      let v = 0n;
      for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.#data[i] ?? 0);
      return v;
    };
    switch (p.kind) {
      case 'in':
        // IN AL/AX merges into RAX; IN EAX zero-extends, like any 32-bit register write.
        this.#setReg(HV_X86.RAX, writeGpr(this.#reg(HV_X86.RAX), le(p.size), p.size));
        this.#skip(p.length);
        return undefined;
      case 'mmio': {
        const id = GPR_BY_ENCODING[p.insn.dest.reg] as number;
        this.#setReg(id, writeGpr(this.#reg(id), le(p.insn.size), p.insn.destSize, p.insn.dest.high8));
        this.#skip(p.insn.length);
        return undefined;
      }
      case 'ins': {
        const e = p.exit;
        if (!writeLinear(this.#memory(), this.#paging(), e.linear, this.#data.subarray(0, e.size))) {
          return { kind: 'internal-error', suberror: INTERNAL_ERROR_EMULATION, data: [e.linear, BigInt(e.port)] };
        }
        this.#stringStep(e, HV_X86.RDI);
        return undefined;
      }
    }
  }

  /** One element of INS/OUTS done: advance RSI/RDI by DF, count down RCX under REP, step RIP when finished. */
  #stringStep(e: Extract<VmxExit, { kind: 'io' }>, indexReg: number): void {
    const bitsMask = (1n << BigInt(e.addressSize * 8)) - 1n;
    const delta = this.#reg(HV_X86.RFLAGS) & RFLAGS_DF ? -BigInt(e.size) : BigInt(e.size);
    const update = (reg: number, by: bigint): bigint => {
      const old = this.#reg(reg);
      const next = writeGpr(old, (old + by) & bitsMask, e.addressSize);
      this.#setReg(reg, next);
      return next & bitsMask;
    };
    update(indexReg, delta);
    if (!e.rep || update(HV_X86.RCX, -1n) === 0n) this.#skip(e.length);
    // Otherwise RIP stays on the REP instruction, which runs (and exits) again.
  }

  /** Handles one VMX exit: an exit for the VMM, or undefined to re-enter the guest. */
  #handle(e: VmxExit, info: VmxExitInfo): VcpuExit | undefined {
    if (e.kind !== 'ept-violation') this.#ramFaults.count = 0;
    switch (e.kind) {
      case 'io':
        return this.#io(e);
      case 'ept-violation':
        return this.#mmio(e);
      case 'hlt':
        this.#skip(e.length);
        return { kind: 'hlt' };
      case 'triple-fault':
        return { kind: 'shutdown' };
      case 'external-interrupt':
      case 'preemption-timer':
        // The host needed the CPU (or hv_vcpu_interrupt kicked us): the caller's loop decides.
        return { kind: 'intr' };
      case 'interrupt-window':
        this.#procCtls = (this.#procCtls & ~PROC_BASED.INTERRUPT_WINDOW_EXITING) >>> 0;
        this.#setVmcs(VMCS.PRI_PROC_BASED_CTLS, this.#procCtls);
        return { kind: 'irq-window-open' };
      case 'cpuid': {
        const r = cpuidLookup(this.#cpuid, Number(this.#reg(HV_X86.RAX) & 0xffff_ffffn), Number(this.#reg(HV_X86.RCX) & 0xffff_ffffn));
        this.#setReg(HV_X86.RAX, BigInt(r.eax));
        this.#setReg(HV_X86.RBX, BigInt(r.ebx));
        this.#setReg(HV_X86.RCX, BigInt(r.ecx));
        this.#setReg(HV_X86.RDX, BigInt(r.edx));
        this.#skip(e.length);
        return undefined;
      }
      case 'rdmsr': {
        const v = this.#readMsr(Number(this.#reg(HV_X86.RCX) & 0xffff_ffffn));
        if (v === undefined) {
          this.#injectException(VECTOR_GP, 0);
          return undefined;
        }
        this.#setReg(HV_X86.RAX, v & 0xffff_ffffn);
        this.#setReg(HV_X86.RDX, (v >> 32n) & 0xffff_ffffn);
        this.#skip(e.length);
        return undefined;
      }
      case 'wrmsr': {
        const value = ((this.#reg(HV_X86.RDX) & 0xffff_ffffn) << 32n) | (this.#reg(HV_X86.RAX) & 0xffff_ffffn);
        if (this.#writeMsr(Number(this.#reg(HV_X86.RCX) & 0xffff_ffffn), value)) this.#skip(e.length);
        else this.#injectException(VECTOR_GP, 0);
        return undefined;
      }
      case 'xsetbv': {
        if ((this.#reg(HV_X86.RCX) & 0xffff_ffffn) !== 0n) {
          this.#injectException(VECTOR_GP, 0);
          return undefined;
        }
        const value = ((this.#reg(HV_X86.RDX) & 0xffff_ffffn) << 32n) | (this.#reg(HV_X86.RAX) & 0xffff_ffffn);
        this.#setReg(HV_X86.XCR0, value);
        this.#skip(e.length);
        return undefined;
      }
      case 'cr-access':
        return this.#crAccess(e);
      case 'entry-failure':
        return { kind: 'fail-entry', reason: BigInt(e.reason), cpu: this.id };
      case 'ept-misconfig':
      case 'exception':
      case 'other':
        return { kind: 'unknown', reason: info.reason & 0xffff };
    }
  }

  #io(e: Extract<VmxExit, { kind: 'io' }>): VcpuExit | undefined {
    const data = this.#data.subarray(0, e.size);
    if (!e.string) {
      if (e.in) {
        data.fill(0);
        this.#pending = { kind: 'in', size: e.size, length: e.length };
        return { kind: 'io-in', port: e.port, size: e.size, count: 1, data };
      }
      const v = readGpr(this.#reg(HV_X86.RAX), e.size);
      for (let i = 0; i < e.size; i++) data[i] = Number((v >> BigInt(8 * i)) & 0xffn);
      this.#skip(e.length);
      return { kind: 'io-out', port: e.port, size: e.size, count: 1, data };
    }
    // String I/O: one element per exit. REP with a zero count does nothing.
    if (e.rep && (this.#reg(HV_X86.RCX) & ((1n << BigInt(e.addressSize * 8)) - 1n)) === 0n) {
      this.#skip(e.length);
      return undefined;
    }
    if (e.in) {
      data.fill(0);
      this.#pending = { kind: 'ins', exit: e };
      return { kind: 'io-in', port: e.port, size: e.size, count: 1, data };
    }
    const src = readLinear(this.#memory(), this.#paging(), e.linear, e.size);
    if (src.length < e.size) {
      return { kind: 'internal-error', suberror: INTERNAL_ERROR_EMULATION, data: [e.linear, BigInt(e.port)] };
    }
    data.set(src);
    this.#stringStep(e, HV_X86.RSI);
    return { kind: 'io-out', port: e.port, size: e.size, count: 1, data };
  }

  #mmio(e: Extract<VmxExit, { kind: 'ept-violation' }>): VcpuExit | undefined {
    const mem = this.#memory();
    if (e.gpa <= BigInt(Number.MAX_SAFE_INTEGER) && mem.view(Number(e.gpa), 1)) {
      // RAM: HVF resolves these itself (QEMU re-enters too); give up if it keeps coming back.
      this.#ramFaults = e.gpa === this.#ramFaults.gpa ? { gpa: e.gpa, count: this.#ramFaults.count + 1 } : { gpa: e.gpa, count: 1 };
      return this.#ramFaults.count >= MAX_RAM_FAULTS ? { kind: 'unknown', reason: VMX_EXIT.EPT_VIOLATION } : undefined;
    }
    this.#ramFaults.count = 0;
    const rip = this.#reg(HV_X86.RIP);
    const fail = (bytes: Uint8Array): VcpuExit => {
      let first = 0n;
      for (let i = Math.min(bytes.length, 8) - 1; i >= 0; i--) first = (first << 8n) | BigInt(bytes[i] ?? 0);
      return { kind: 'internal-error', suberror: INTERNAL_ERROR_EMULATION, data: [e.gpa, rip, first] };
    };
    if (e.fetch) return fail(new Uint8Array(0));
    const mode = this.#mode();
    // In 64-bit mode the CS base is treated as zero; otherwise linear = CS.base + (E)IP.
    const linear = mode === 8 ? rip : (this.#vmcs(VMCS.GUEST_CS_BASE) + (rip & (mode === 4 ? 0xffff_ffffn : 0xffffn))) & 0xffff_ffffn;
    const bytes = readLinear(mem, this.#paging(), linear, 15);
    const insn = decodeMmioInstruction(bytes, mode);
    if (!insn || (insn.op === 'store') !== e.write) return fail(bytes);
    const data = this.#data.subarray(0, insn.size);
    if (insn.op === 'store') {
      const src = insn.source;
      const v = 'imm' in src ? src.imm : readGpr(this.#reg(GPR_BY_ENCODING[src.reg] as number), insn.size, src.high8);
      for (let i = 0; i < insn.size; i++) data[i] = Number((v >> BigInt(8 * i)) & 0xffn);
      this.#skip(insn.length);
      return { kind: 'mmio-write', address: e.gpa, len: insn.size, data };
    }
    data.fill(0);
    this.#pending = { kind: 'mmio', insn };
    return { kind: 'mmio-read', address: e.gpa, len: insn.size, data };
  }

  /** The code segment's default size: 64-bit mode (CS.L with EFER.LMA), else CS.D/B. */
  #mode(): CpuMode {
    const ar = Number(this.#vmcs(VMCS.GUEST_CS_AR));
    if (ar & (1 << 13) && this.#vmcs(VMCS.GUEST_IA32_EFER) & EFER_LMA) return 8;
    return ar & (1 << 14) ? 4 : 2;
  }

  #crAccess(e: Extract<VmxExit, { kind: 'cr-access' }>): VcpuExit | undefined {
    const gpr = GPR_BY_ENCODING[e.gpr] as number;
    const efer = this.#vmcs(VMCS.GUEST_IA32_EFER);
    switch (e.access) {
      case 'mov-to': {
        const v = this.#reg(gpr);
        if (e.cr === 0) this.#setControl(v, this.#cr4(), efer);
        else if (e.cr === 4) this.#setControl(this.#cr0(), v, efer);
        else if (e.cr === 3) this.#setVmcs(VMCS.GUEST_CR3, v);
        else if (e.cr === 8) this.#setReg(HV_X86.TPR, (v & 0xfn) << 4n);
        else return { kind: 'unknown', reason: VMX_EXIT.CR_ACCESS };
        break;
      }
      case 'mov-from':
        if (e.cr === 3) this.#setReg(gpr, this.#vmcs(VMCS.GUEST_CR3));
        else if (e.cr === 8) this.#setReg(gpr, (this.#reg(HV_X86.TPR) >> 4n) & 0xfn);
        else return { kind: 'unknown', reason: VMX_EXIT.CR_ACCESS };
        break;
      case 'clts':
        this.#setControl(this.#cr0() & ~CR0_TS, this.#cr4(), efer);
        break;
      case 'lmsw':
        this.#setControl(lmsw(this.#cr0(), e.lmswData), this.#cr4(), efer);
        break;
    }
    this.#skip(e.length);
    return undefined;
  }

  #readMsr(index: number): bigint | undefined {
    if (index === MSR.EFER) return this.#vmcs(VMCS.GUEST_IA32_EFER);
    if (index === MSR.IA32_APIC_BASE) return this.#apicBase;
    if (NATIVE_MSRS.includes(index)) return this.#api.readMsr(this.hvId, index);
    return this.#msrs.get(index);
  }

  #writeMsr(index: number, value: bigint): boolean {
    if (index === MSR.EFER) {
      // LMA is the CPU's to set: `controlState` recomputes it from LME and CR0.PG.
      this.#setControl(this.#cr0(), this.#cr4(), value);
      return true;
    }
    if (index === MSR.IA32_APIC_BASE) {
      this.#apicBase = value;
      return true;
    }
    if (NATIVE_MSRS.includes(index)) {
      this.#api.writeMsr(this.hvId, index, value);
      return true;
    }
    if (!this.#msrs.has(index)) return false;
    this.#msrs.set(index, value);
    return true;
  }

  /** Destroys the vCPU (on its own thread). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#api.vcpuDestroy(this.hvId);
  }
}
