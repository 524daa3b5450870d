/**
 * VMX exits as the hardware reports them, decoded from VMCS values into a tagged union
 * (a pure function, tested with synthetic values). Exit qualifications, SDM vol. 3C 28.2.1:
 *
 *   I/O instruction (Table 28-5):  size-1[2:0]  in[3]  string[4]  rep[5]  imm[6]  port[31:16]
 *   Control-register access (28-3): cr[3:0]  type[5:4] (0 mov-to, 1 mov-from, 2 clts, 3 lmsw)
 *                                   lmsw-op[6]  gpr[11:8]  lmsw-data[31:16]
 *   EPT violation (28-7):          read[0]  write[1]  fetch[2]  readable[3]  writable[4]
 *                                   executable[5]  linear-valid[7]  nmi-unblocking[12]
 *   VM-exit instruction info for INS/OUTS (28-8): address-size[9:7] (0 16-bit, 1 32, 2 64)
 *   VM-exit interruption info (25-17): vector[7:0]  type[10:8]  error-valid[11]  valid[31]
 *   IDT-vectoring info (25-18): the same layout, for an event the exit interrupted
 *
 * `VcpuExit` (the KVM-shaped union the rest of hyperkit handles) is produced from these
 * by `HvfVcpu.run()`, which also emulates what KVM would have done in the kernel.
 */
import { EXIT_REASON_ENTRY_FAILURE, VMX_EXIT } from './vmcs.js';

/** The VMCS values read after every hv_vcpu_run. */
export interface VmxExitInfo {
  /** Full exit-reason field (basic reason in 15:0, entry failure in bit 31). */
  reason: number;
  qualification: bigint;
  /** Guest-physical address (EPT violations/misconfigurations). */
  guestPhysical: bigint;
  /** Guest-linear address (INS/OUTS memory operand, some EPT violations). */
  guestLinear: bigint;
  instructionLength: number;
  instructionInfo: number;
  interruptionInfo: number;
  interruptionErrorCode: number;
  /** An event whose delivery the exit interrupted (SDM 25.9.3), to inject again. */
  idtVectoringInfo: number;
  idtVectoringErrorCode: number;
}

export type VmxExit =
  | {
      kind: 'io';
      port: number;
      size: 1 | 2 | 4;
      in: boolean;
      string: boolean;
      rep: boolean;
      /** Address size of a string instruction's memory operand, in bytes. */
      addressSize: 2 | 4 | 8;
      /** Linear address of a string instruction's memory operand. */
      linear: bigint;
      length: number;
    }
  | { kind: 'ept-violation'; gpa: bigint; read: boolean; write: boolean; fetch: boolean; linear?: bigint }
  | { kind: 'ept-misconfig'; gpa: bigint }
  | { kind: 'hlt'; length: number }
  | { kind: 'triple-fault' }
  | { kind: 'external-interrupt' }
  | { kind: 'interrupt-window' }
  | { kind: 'preemption-timer' }
  | { kind: 'cpuid'; length: number }
  | { kind: 'rdmsr'; length: number }
  | { kind: 'wrmsr'; length: number }
  | { kind: 'xsetbv'; length: number }
  | { kind: 'cr-access'; cr: number; access: 'mov-to' | 'mov-from' | 'clts' | 'lmsw'; gpr: number; lmswData: number; length: number }
  | { kind: 'exception'; vector: number; type: number; errorCode?: number }
  | { kind: 'entry-failure'; reason: number; qualification: bigint }
  | { kind: 'other'; reason: number; qualification: bigint; length: number };

const bit = (v: bigint, n: number): boolean => ((v >> BigInt(n)) & 1n) === 1n;
const bits = (v: bigint, lo: number, width: number): number => Number((v >> BigInt(lo)) & ((1n << BigInt(width)) - 1n));

const IO_SIZES: Record<number, 1 | 2 | 4 | undefined> = { 0: 1, 1: 2, 3: 4 };
const ADDRESS_SIZES: Record<number, 2 | 4 | 8 | undefined> = { 0: 2, 1: 4, 2: 8 };
const CR_ACCESS = ['mov-to', 'mov-from', 'clts', 'lmsw'] as const;

export function decodeVmxExit(info: VmxExitInfo): VmxExit {
  const q = info.qualification;
  const length = info.instructionLength;
  if (info.reason & EXIT_REASON_ENTRY_FAILURE) {
    return { kind: 'entry-failure', reason: info.reason & 0xffff, qualification: q };
  }
  const basic = info.reason & 0xffff;
  switch (basic) {
    case VMX_EXIT.IO_INSTRUCTION: {
      const size = IO_SIZES[bits(q, 0, 3)];
      const string = bit(q, 4);
      const addressSize = string ? ADDRESS_SIZES[(info.instructionInfo >>> 7) & 7] : 8;
      if (!size || !addressSize) return { kind: 'other', reason: basic, qualification: q, length };
      return {
        kind: 'io',
        port: bits(q, 16, 16),
        size,
        in: bit(q, 3),
        string,
        rep: bit(q, 5),
        addressSize,
        linear: info.guestLinear,
        length,
      };
    }
    case VMX_EXIT.EPT_VIOLATION:
      return {
        kind: 'ept-violation',
        gpa: info.guestPhysical,
        read: bit(q, 0),
        write: bit(q, 1),
        fetch: bit(q, 2),
        ...(bit(q, 7) ? { linear: info.guestLinear } : {}),
      };
    case VMX_EXIT.EPT_MISCONFIG:
      return { kind: 'ept-misconfig', gpa: info.guestPhysical };
    case VMX_EXIT.HLT:
      return { kind: 'hlt', length };
    case VMX_EXIT.TRIPLE_FAULT:
      return { kind: 'triple-fault' };
    case VMX_EXIT.EXTERNAL_INTERRUPT:
      return { kind: 'external-interrupt' };
    case VMX_EXIT.INTERRUPT_WINDOW:
      return { kind: 'interrupt-window' };
    case VMX_EXIT.PREEMPTION_TIMER:
      return { kind: 'preemption-timer' };
    case VMX_EXIT.CPUID:
      return { kind: 'cpuid', length };
    case VMX_EXIT.RDMSR:
      return { kind: 'rdmsr', length };
    case VMX_EXIT.WRMSR:
      return { kind: 'wrmsr', length };
    case VMX_EXIT.XSETBV:
      return { kind: 'xsetbv', length };
    case VMX_EXIT.CR_ACCESS:
      return {
        kind: 'cr-access',
        cr: bits(q, 0, 4),
        access: CR_ACCESS[bits(q, 4, 2)] ?? 'mov-to',
        gpr: bits(q, 8, 4),
        lmswData: bits(q, 16, 16),
        length,
      };
    case VMX_EXIT.EXCEPTION_NMI: {
      const ii = info.interruptionInfo;
      return {
        kind: 'exception',
        vector: ii & 0xff,
        type: (ii >>> 8) & 7,
        ...(ii & (1 << 11) ? { errorCode: info.interruptionErrorCode } : {}),
      };
    }
    default:
      return { kind: 'other', reason: basic, qualification: q, length };
  }
}

/**
 * What to write to the VM-entry fields so that an event the exit interrupted (IDT-vectoring
 * information valid) is delivered again on the next entry, as the SDM requires of the VMM
 * (vol. 3C 28.2.4): the same vector/type/error-code bits, the error code, and for software
 * interrupts and exceptions the instruction length. Undefined when there is nothing to redo.
 */
export function reinjection(info: VmxExitInfo): { intrInfo: number; errorCode?: number; instructionLength?: number } | undefined {
  const v = info.idtVectoringInfo;
  if (!(v & 0x8000_0000)) return undefined;
  const type = (v >>> 8) & 7;
  return {
    // Bits 30:12 are reserved in the entry field (bit 12 is "undefined" in the vectoring one).
    intrInfo: (v & 0x8000_0fff) >>> 0,
    ...(v & (1 << 11) ? { errorCode: info.idtVectoringErrorCode } : {}),
    // Software interrupt (4), privileged software exception (5), software exception (6).
    ...(type >= 4 && type <= 6 ? { instructionLength: info.instructionLength } : {}),
  };
}
