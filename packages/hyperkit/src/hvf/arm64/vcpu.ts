/**
 * `HvfArm64Vcpu`: one vCPU on the arm64 Hypervisor.framework (Apple silicon), with
 * `run()` returning the same `VcpuExit` union as the KVM and x86 HVF backends, plus
 * `{ kind: 'vtimer' }` (see below). What KVM would do in the kernel, `run()` does here:
 *
 * - a data abort outside RAM with a valid syndrome becomes `mmio-read`/`mmio-write` (size,
 *   register and sign extension from the ESR, address from the exit's IPA); a read
 *   completes into Xn/Wn on the next `run()` and PC steps over the 4-byte instruction;
 * - WFI/WFE -> `hlt` (PC stepped); PSCI over HVC/SMC is answered (`psci.ts`), SYSTEM_OFF
 *   and SYSTEM_RESET become `system-event` with KVM's shutdown/reset types;
 * - `hv_vcpus_exit` -> `intr`.
 *
 * `{ kind: 'vtimer' }`: the guest's virtual timer fired. HVF masks it and leaves the rest
 * to the VMM, which has no GIC here: it must raise the timer's interrupt through its own
 * interrupt controller model (`setPendingInterrupt`) and call `unmaskVtimer()`. Handle it
 * before `handleExit`, which does not know this kind.
 *
 * HVF binds a vCPU to the thread that created it: create, run and close it on one thread.
 */
import { HyperkitError } from '../../errors.js';
import type { HvfArm64Api } from '../../ffi/hvf.js';
import type { GuestMemory } from '../../memory/guest-memory.js';
import type { VcpuExit } from '../../vcpu/exit.js';
import { INTERNAL_ERROR_EMULATION } from '../vcpu.js';
import { decodeEsr, EC, loadedValue, type EsrExit } from './esr.js';
import { psciCall } from './psci.js';

/** hv_reg_t: X0..X30 are 0..30, then PC, FPCR, FPSR, CPSR. */
export const HV_REG = { X0: 0, X1: 1, X30: 30, PC: 31, FPCR: 32, FPSR: 33, CPSR: 34 } as const;

/** hv_exit_reason_t */
export const HV_EXIT_REASON = { CANCELED: 0, EXCEPTION: 1, VTIMER_ACTIVATED: 2, UNKNOWN: 3 } as const;

/** `unknown.reason` for an exit that is not an exception: this plus the hv_exit_reason_t (ECs are below 0x40). */
export const UNKNOWN_EXIT_REASON_BASE = 0x100;

export interface Arm64Regs {
  /** X0..X30. */
  x: bigint[];
  pc: bigint;
  /** PSTATE as SPSR lays it out (NZCV, DAIF, EL and SP selection in M[3:0]). */
  cpsr: bigint;
}

export type Arm64Exit = VcpuExit | { kind: 'vtimer' };

type DataAbort = Extract<EsrExit, { kind: 'data-abort'; valid: true }>;

export class HvfArm64Vcpu {
  readonly id: number;
  /** The hv_vcpu_t the framework gave it. */
  readonly hvId: bigint;
  readonly #api: HvfArm64Api;
  readonly #exit: DataView;
  readonly #memory: () => GuestMemory;
  readonly #data = new Uint8Array(8);
  #pending: DataAbort | undefined;
  #closed = false;

  /** @internal Created by `HvfArm64Vm.createVcpu()`, on the calling thread. */
  constructor(api: HvfArm64Api, id: number, memory: () => GuestMemory) {
    this.#api = api;
    this.id = id;
    this.#memory = memory;
    const { vcpu, exit } = api.vcpuCreate();
    this.hvId = vcpu;
    this.#exit = exit;
  }

  #check(): void {
    if (this.#closed) throw new HyperkitError('CLOSED', `vCPU ${this.id} is closed`);
  }
  #reg(reg: number): bigint {
    return this.#api.getReg(this.hvId, reg);
  }
  #setReg(reg: number, value: bigint): void {
    this.#api.setReg(this.hvId, reg, value);
  }
  #stepPc(): void {
    // Every A64 instruction is 4 bytes.
    this.#setReg(HV_REG.PC, BigInt.asUintN(64, this.#reg(HV_REG.PC) + 4n));
  }

  getRegs(): Arm64Regs {
    this.#check();
    return {
      x: Array.from({ length: 31 }, (_, i) => this.#reg(HV_REG.X0 + i)),
      pc: this.#reg(HV_REG.PC),
      cpsr: this.#reg(HV_REG.CPSR),
    };
  }

  setRegs(regs: Arm64Regs): void {
    this.#check();
    if (regs.x.length !== 31) throw new RangeError(`expected X0..X30 (31 registers), got ${regs.x.length}`);
    regs.x.forEach((v, i) => this.#setReg(HV_REG.X0 + i, BigInt.asUintN(64, v)));
    this.#setReg(HV_REG.PC, regs.pc);
    this.#setReg(HV_REG.CPSR, regs.cpsr);
  }

  /** A system register by its hv_sys_reg_t number (op0, op1, CRn, CRm, op2 packed; see esr.ts). */
  getSysReg(encoding: number): bigint {
    this.#check();
    return this.#api.getSysReg(this.hvId, encoding);
  }

  setSysReg(encoding: number, value: bigint): void {
    this.#check();
    this.#api.setSysReg(this.hvId, encoding, value);
  }

  /** Drives the vCPU's IRQ or FIQ line (what an interrupt controller model outputs). */
  setPendingInterrupt(type: 'irq' | 'fiq', pending: boolean): void {
    this.#check();
    this.#api.setPendingInterrupt(this.hvId, type === 'irq' ? 0 : 1, pending);
  }

  /** Re-arms the virtual timer after a `vtimer` exit has been delivered. */
  unmaskVtimer(): void {
    this.#check();
    this.#api.setVtimerMask(this.hvId, false);
  }

  /**
   * Runs the vCPU until an exit the VMM must see. An `mmio-read` exit's `data` must be
   * filled before the next call, which completes the load. For an exception the backend
   * does not handle, `unknown.reason` is the ESR exception class.
   */
  run(): Arm64Exit {
    this.#check();
    this.#complete();
    for (;;) {
      this.#api.vcpuRun(this.hvId);
      // The framework's exit record for this vCPU: reason at 0, ESR at 8, IPA at 24.
      const reason = this.#exit.getUint32(0, true);
      if (reason === HV_EXIT_REASON.CANCELED) return { kind: 'intr' };
      if (reason === HV_EXIT_REASON.VTIMER_ACTIVATED) return { kind: 'vtimer' };
      if (reason !== HV_EXIT_REASON.EXCEPTION) return { kind: 'unknown', reason: UNKNOWN_EXIT_REASON_BASE + reason };
      const esr = this.#exit.getBigUint64(8, true);
      const ipa = this.#exit.getBigUint64(24, true);
      const out = this.#exception(decodeEsr(esr), esr, ipa);
      if (out) return out;
    }
  }

  #complete(): void {
    const p = this.#pending;
    this.#pending = undefined;
    if (!p) return;
    let raw = 0n;
    for (let i = p.size - 1; i >= 0; i--) raw = (raw << 8n) | BigInt(this.#data[i] ?? 0);
    // Register 31 is XZR here: the loaded value is discarded.
    if (p.reg !== 31) this.#setReg(HV_REG.X0 + p.reg, loadedValue(raw, p.size, p.signExtend, p.is64));
    this.#stepPc();
  }

  #exception(e: EsrExit, esr: bigint, ipa: bigint): Arm64Exit | undefined {
    switch (e.kind) {
      case 'data-abort': {
        const mem = this.#memory();
        if (ipa <= BigInt(Number.MAX_SAFE_INTEGER) && mem.view(Number(ipa), 1)) {
          return { kind: 'unknown', reason: EC.DATA_ABORT_LOWER };
        }
        if (!e.valid || e.s1ptw) {
          // No syndrome (pair/SIMD/writeback forms) or a page walk through MMIO: needs an emulator.
          return { kind: 'internal-error', suberror: INTERNAL_ERROR_EMULATION, data: [ipa, this.#reg(HV_REG.PC), esr] };
        }
        const data = this.#data.subarray(0, e.size);
        if (e.write) {
          const v = e.reg === 31 ? 0n : this.#reg(HV_REG.X0 + e.reg);
          for (let i = 0; i < e.size; i++) data[i] = Number((v >> BigInt(8 * i)) & 0xffn);
          this.#stepPc();
          return { kind: 'mmio-write', address: ipa, len: e.size, data };
        }
        data.fill(0);
        this.#pending = e;
        return { kind: 'mmio-read', address: ipa, len: e.size, data };
      }
      case 'wfx':
        this.#stepPc();
        return { kind: 'hlt' };
      case 'hvc':
      case 'smc': {
        const answer = psciCall(this.#reg(HV_REG.X0), this.#reg(HV_REG.X1));
        // The exception return address of HVC is already the next instruction; of SMC, the SMC itself.
        if (e.kind === 'smc') this.#stepPc();
        if ('systemEvent' in answer) return { kind: 'system-event', type: answer.systemEvent, data: [] };
        this.#setReg(HV_REG.X0, answer.x0);
        return undefined;
      }
      case 'sysreg':
        return { kind: 'unknown', reason: EC.SYSREG };
      case 'instruction-abort':
        return { kind: 'unknown', reason: EC.INSTRUCTION_ABORT_LOWER };
      case 'other':
        return { kind: 'unknown', reason: e.ec };
    }
  }

  /** Destroys the vCPU (on its own thread). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#api.vcpuDestroy(this.hvId);
  }
}
