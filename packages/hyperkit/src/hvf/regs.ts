/**
 * Registers on the x86_64 Hypervisor.framework, in the same `Regs`/`Sregs` shapes as the
 * KVM backend (src/kvm/structs.ts). General registers go through hv_vcpu_{read,write}_register
 * (hv_x86_reg_t, hv_arch_x86.h); segments, descriptor tables, control registers and EFER
 * through the VMCS, as QEMU's and xhyve's HVF backends do.
 *
 *   typedef enum { HV_X86_RIP, HV_X86_RFLAGS, HV_X86_RAX, HV_X86_RCX, HV_X86_RDX, HV_X86_RBX,
 *     HV_X86_RSI, HV_X86_RDI, HV_X86_RSP, HV_X86_RBP, HV_X86_R8 ... HV_X86_R15,
 *     HV_X86_CS, HV_X86_SS, HV_X86_DS, HV_X86_ES, HV_X86_FS, HV_X86_GS,
 *     HV_X86_IDT_BASE, HV_X86_IDT_LIMIT, HV_X86_GDT_BASE, HV_X86_GDT_LIMIT,
 *     HV_X86_LDTR, HV_X86_LDT_BASE, HV_X86_LDT_LIMIT, HV_X86_LDT_AR,
 *     HV_X86_TR, HV_X86_TSS_BASE, HV_X86_TSS_LIMIT, HV_X86_TSS_AR,
 *     HV_X86_CR0, HV_X86_CR1, HV_X86_CR2, HV_X86_CR3, HV_X86_CR4,
 *     HV_X86_DR0 ... HV_X86_DR7, HV_X86_TPR, HV_X86_XCR0, HV_X86_REGISTERS_MAX } hv_x86_reg_t;
 *
 * VMX segment access rights (SDM vol. 3C, Table 25-2):
 *   type[3:0]  S[4]  DPL[6:5]  P[7]  AVL[12]  L[13]  D/B[14]  G[15]  unusable[16]
 */
import type { Regs, Segment } from '../kvm/structs.js';
import { VMCS } from './vmcs.js';

export const HV_X86 = {
  RIP: 0,
  RFLAGS: 1,
  RAX: 2,
  RCX: 3,
  RDX: 4,
  RBX: 5,
  RSI: 6,
  RDI: 7,
  RSP: 8,
  RBP: 9,
  R8: 10,
  R9: 11,
  R10: 12,
  R11: 13,
  R12: 14,
  R13: 15,
  R14: 16,
  R15: 17,
  CS: 18,
  SS: 19,
  DS: 20,
  ES: 21,
  FS: 22,
  GS: 23,
  IDT_BASE: 24,
  IDT_LIMIT: 25,
  GDT_BASE: 26,
  GDT_LIMIT: 27,
  LDTR: 28,
  LDT_BASE: 29,
  LDT_LIMIT: 30,
  LDT_AR: 31,
  TR: 32,
  TSS_BASE: 33,
  TSS_LIMIT: 34,
  TSS_AR: 35,
  CR0: 36,
  CR1: 37,
  CR2: 38,
  CR3: 39,
  CR4: 40,
  DR0: 41,
  DR7: 48,
  TPR: 49,
  XCR0: 50,
} as const;

/** `Regs` field -> hv_x86_reg_t. */
export const REG_IDS: Readonly<Record<keyof Regs, number>> = {
  rax: HV_X86.RAX,
  rbx: HV_X86.RBX,
  rcx: HV_X86.RCX,
  rdx: HV_X86.RDX,
  rsi: HV_X86.RSI,
  rdi: HV_X86.RDI,
  rsp: HV_X86.RSP,
  rbp: HV_X86.RBP,
  r8: HV_X86.R8,
  r9: HV_X86.R9,
  r10: HV_X86.R10,
  r11: HV_X86.R11,
  r12: HV_X86.R12,
  r13: HV_X86.R13,
  r14: HV_X86.R14,
  r15: HV_X86.R15,
  rip: HV_X86.RIP,
  rflags: HV_X86.RFLAGS,
};

/**
 * Instruction-encoding register number (ModRM, CR-access qualification: 0 rax, 1 rcx,
 * 2 rdx, 3 rbx, 4 rsp, 5 rbp, 6 rsi, 7 rdi, 8-15 r8-r15) -> hv_x86_reg_t.
 */
export const GPR_BY_ENCODING: readonly number[] = [
  HV_X86.RAX, HV_X86.RCX, HV_X86.RDX, HV_X86.RBX, HV_X86.RSP, HV_X86.RBP, HV_X86.RSI, HV_X86.RDI,
  HV_X86.R8, HV_X86.R9, HV_X86.R10, HV_X86.R11, HV_X86.R12, HV_X86.R13, HV_X86.R14, HV_X86.R15,
];

export type SegmentName = 'cs' | 'ds' | 'es' | 'fs' | 'gs' | 'ss' | 'tr' | 'ldt';

/** VMCS fields of each segment register. */
export const SEGMENT_FIELDS: Readonly<Record<SegmentName, { selector: number; base: number; limit: number; ar: number }>> = {
  es: { selector: VMCS.GUEST_ES_SELECTOR, base: VMCS.GUEST_ES_BASE, limit: VMCS.GUEST_ES_LIMIT, ar: VMCS.GUEST_ES_AR },
  cs: { selector: VMCS.GUEST_CS_SELECTOR, base: VMCS.GUEST_CS_BASE, limit: VMCS.GUEST_CS_LIMIT, ar: VMCS.GUEST_CS_AR },
  ss: { selector: VMCS.GUEST_SS_SELECTOR, base: VMCS.GUEST_SS_BASE, limit: VMCS.GUEST_SS_LIMIT, ar: VMCS.GUEST_SS_AR },
  ds: { selector: VMCS.GUEST_DS_SELECTOR, base: VMCS.GUEST_DS_BASE, limit: VMCS.GUEST_DS_LIMIT, ar: VMCS.GUEST_DS_AR },
  fs: { selector: VMCS.GUEST_FS_SELECTOR, base: VMCS.GUEST_FS_BASE, limit: VMCS.GUEST_FS_LIMIT, ar: VMCS.GUEST_FS_AR },
  gs: { selector: VMCS.GUEST_GS_SELECTOR, base: VMCS.GUEST_GS_BASE, limit: VMCS.GUEST_GS_LIMIT, ar: VMCS.GUEST_GS_AR },
  ldt: { selector: VMCS.GUEST_LDTR_SELECTOR, base: VMCS.GUEST_LDTR_BASE, limit: VMCS.GUEST_LDTR_LIMIT, ar: VMCS.GUEST_LDTR_AR },
  tr: { selector: VMCS.GUEST_TR_SELECTOR, base: VMCS.GUEST_TR_BASE, limit: VMCS.GUEST_TR_LIMIT, ar: VMCS.GUEST_TR_AR },
};

const AR_UNUSABLE = 1 << 16;

/** A `kvm_segment`'s attributes as a VMX access-rights value. */
export function segmentAccessRights(s: Segment): number {
  if (s.unusable) return AR_UNUSABLE;
  return (
    ((s.type & 0xf) |
      ((s.s & 1) << 4) |
      ((s.dpl & 3) << 5) |
      ((s.present & 1) << 7) |
      ((s.avl & 1) << 12) |
      ((s.l & 1) << 13) |
      ((s.db & 1) << 14) |
      ((s.g & 1) << 15)) >>>
    0
  );
}

/** A segment from its VMCS selector, base, limit and access rights. */
export function segmentFromVmcs(selector: number, base: bigint, limit: number, ar: number): Segment {
  const b = (n: number): number => (ar >>> n) & 1;
  return {
    base,
    limit: limit >>> 0,
    selector: selector & 0xffff,
    type: ar & 0xf,
    s: b(4),
    dpl: (ar >>> 5) & 3,
    present: b(7),
    avl: b(12),
    l: b(13),
    db: b(14),
    g: b(15),
    unusable: b(16),
  };
}
