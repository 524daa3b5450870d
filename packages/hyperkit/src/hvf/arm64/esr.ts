/**
 * The exception syndrome (ESR_EL2) an arm64 Hypervisor.framework exit carries, decoded
 * (Arm ARM, D23.2.41 ESR_EL2; "ISS encoding for an exception from a Data Abort", "... from
 * an HVC or SVC instruction", "... from MSR, MRS, or System instruction execution in
 * AArch64 state", "... from a WF* instruction"):
 *
 *   ESR:         EC[31:26]  IL[25]  ISS[24:0]
 *   Data Abort:  ISV[24]  SAS[23:22]  SSE[21]  SRT[20:16]  SF[15]  AR[14]  FnV[10]  EA[9]
 *                CM[8]  S1PTW[7]  WnR[6]  DFSC[5:0]            (EC 0x24: from a lower EL)
 *   HVC/SMC:     imm16[15:0]                                    (EC 0x16 / 0x17)
 *   MSR/MRS:     Op0[21:20]  Op2[19:17]  Op1[16:14]  CRn[13:10]  Rt[9:5]  CRm[4:1]  Dir[0]
 *                (Dir 1: MRS, a read)                           (EC 0x18)
 *   WFI/WFE:     TI[1:0] (0 WFI, 1 WFE)                         (EC 0x01)
 *
 * A data abort with ISV=1 describes a single load or store completely (size, register,
 * sign extension), so MMIO needs no instruction decoder; ISV=0 (load/store pair, SIMD,
 * writeback forms) would need one.
 */

export const EC = {
  WFX: 0x01,
  HVC64: 0x16,
  SMC64: 0x17,
  SYSREG: 0x18,
  INSTRUCTION_ABORT_LOWER: 0x20,
  DATA_ABORT_LOWER: 0x24,
} as const;

export type EsrExit =
  | {
      kind: 'data-abort';
      /** The syndrome describes the access (ISV): the fields below are valid. */
      valid: true;
      write: boolean;
      size: 1 | 2 | 4 | 8;
      /** Register Xn transferred; 31 is XZR (reads as zero, writes discarded). */
      reg: number;
      /** A load sign-extends to the register width. */
      signExtend: boolean;
      /** The register is 64-bit (Xn) rather than 32-bit (Wn). */
      is64: boolean;
      /** The abort happened during a stage-1 page-table walk (the guest's tables are in MMIO). */
      s1ptw: boolean;
    }
  | { kind: 'data-abort'; valid: false; write: boolean; s1ptw: boolean }
  | { kind: 'wfx'; wfe: boolean }
  | { kind: 'hvc'; imm: number }
  | { kind: 'smc'; imm: number }
  | {
      kind: 'sysreg';
      read: boolean;
      rt: number;
      op0: number;
      op1: number;
      crn: number;
      crm: number;
      op2: number;
      /** The register as hv_sys_reg_t numbers it: op0[15:14] op1[13:11] CRn[10:7] CRm[6:3] op2[2:0]. */
      encoding: number;
    }
  | { kind: 'instruction-abort' }
  | { kind: 'other'; ec: number; iss: number };

const SIZES = [1, 2, 4, 8] as const;

export function decodeEsr(esr: bigint): EsrExit {
  const ec = Number((esr >> 26n) & 0x3fn);
  const iss = Number(esr & 0x1ff_ffffn);
  const f = (lo: number, width: number): number => (iss >>> lo) & ((1 << width) - 1);
  switch (ec) {
    case EC.DATA_ABORT_LOWER: {
      const write = f(6, 1) === 1;
      const s1ptw = f(7, 1) === 1;
      if (!f(24, 1)) return { kind: 'data-abort', valid: false, write, s1ptw };
      return {
        kind: 'data-abort',
        valid: true,
        write,
        size: SIZES[f(22, 2)] ?? 1,
        reg: f(16, 5),
        signExtend: f(21, 1) === 1,
        is64: f(15, 1) === 1,
        s1ptw,
      };
    }
    case EC.WFX:
      return { kind: 'wfx', wfe: (iss & 3) === 1 };
    case EC.HVC64:
      return { kind: 'hvc', imm: iss & 0xffff };
    case EC.SMC64:
      return { kind: 'smc', imm: iss & 0xffff };
    case EC.SYSREG: {
      const op0 = f(20, 2);
      const op2 = f(17, 3);
      const op1 = f(14, 3);
      const crn = f(10, 4);
      const crm = f(1, 4);
      return {
        kind: 'sysreg',
        read: f(0, 1) === 1,
        rt: f(5, 5),
        op0,
        op1,
        crn,
        crm,
        op2,
        encoding: (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2,
      };
    }
    case EC.INSTRUCTION_ABORT_LOWER:
      return { kind: 'instruction-abort' };
    default:
      return { kind: 'other', ec, iss };
  }
}

/**
 * The value a load leaves in its register: `size` bytes, sign-extended when the syndrome
 * says so, to 64 bits for Xn or 32 bits (upper half zero) for Wn.
 */
export function loadedValue(raw: bigint, size: 1 | 2 | 4 | 8, signExtend: boolean, is64: boolean): bigint {
  const v = BigInt.asUintN(size * 8, raw);
  const extended = signExtend ? BigInt.asUintN(64, BigInt.asIntN(size * 8, v)) : v;
  return is64 ? extended : extended & 0xffff_ffffn;
}
