import { describe, expect, it } from 'vitest';
import { decodeEsr, loadedValue } from './esr.js';
import { psciCall, PSCI_NOT_SUPPORTED } from './psci.js';

describe('decodeEsr', () => {
  it('decodes a data abort for `str w1, [x0]`', () => {
    // EC 0x24 [31:26] | IL [25] | ISV [24] | SAS 2 (word) [23:22] | SRT 1 [20:16] | WnR [6] | DFSC 0x07
    expect(decodeEsr(0x9381_0047n)).toEqual({
      kind: 'data-abort', valid: true, write: true, size: 4, reg: 1, signExtend: false, is64: false, s1ptw: false,
    });
  });

  it('decodes a data abort for `ldrsh x2, [x3]`: halfword, sign-extended into a 64-bit register', () => {
    // ISV | SAS 1 | SSE [21] | SRT 2 | SF [15] | read
    expect(decodeEsr(0x9362_8007n)).toEqual({
      kind: 'data-abort', valid: true, write: false, size: 2, reg: 2, signExtend: true, is64: true, s1ptw: false,
    });
  });

  it('says when the syndrome does not describe the access (ISV = 0)', () => {
    expect(decodeEsr(0x9200_0047n)).toEqual({ kind: 'data-abort', valid: false, write: true, s1ptw: false });
  });

  it('decodes HVC, SMC, WFI/WFE', () => {
    expect(decodeEsr(0x5a00_0000n)).toEqual({ kind: 'hvc', imm: 0 }); // EC 0x16, hvc #0
    expect(decodeEsr(0x5e00_0001n)).toEqual({ kind: 'smc', imm: 1 }); // EC 0x17, smc #1
    expect(decodeEsr(0x0600_0000n)).toEqual({ kind: 'wfx', wfe: false }); // EC 0x01, TI 0
    expect(decodeEsr(0x0600_0001n)).toEqual({ kind: 'wfx', wfe: true });
  });

  it('decodes `mrs x5, id_aa64pfr0_el1` with the hv_sys_reg_t number of the register', () => {
    // EC 0x18 | IL | Op0 3 [21:20] | Op2 0 | Op1 0 | CRn 0 | Rt 5 [9:5] | CRm 4 [4:1] | Dir 1 (read)
    expect(decodeEsr(0x6230_00a9n)).toEqual({
      kind: 'sysreg', read: true, rt: 5, op0: 3, op1: 0, crn: 0, crm: 4, op2: 0, encoding: 0xc020,
    });
  });

  it('keeps unhandled classes with their EC and ISS', () => {
    expect(decodeEsr(0x8200_000fn)).toEqual({ kind: 'instruction-abort' }); // EC 0x20
    expect(decodeEsr(0xf200_0000n)).toEqual({ kind: 'other', ec: 0x3c, iss: 0 }); // brk
  });
});

describe('loadedValue', () => {
  it('sign-extends to 64 or 32 bits and zero-extends otherwise', () => {
    expect(loadedValue(0x8000n, 2, true, true)).toBe(0xffff_ffff_ffff_8000n);
    expect(loadedValue(0x8000n, 2, true, false)).toBe(0xffff_8000n);
    expect(loadedValue(0x8000n, 2, false, true)).toBe(0x8000n);
    expect(loadedValue(0x1_2345_6789n, 4, false, false)).toBe(0x2345_6789n);
  });
});

describe('psciCall', () => {
  it('answers the calls Linux makes while booting and powers off/resets on request', () => {
    expect(psciCall(0x8400_0000n, 0n)).toEqual({ x0: 0x1_0000n }); // PSCI_VERSION: 1.0
    expect(psciCall(0x8400_0006n, 0n)).toEqual({ x0: 2n }); // MIGRATE_INFO_TYPE
    expect(psciCall(0x8400_000an, 0x8400_0008n)).toEqual({ x0: 0n }); // FEATURES(SYSTEM_OFF)
    expect(psciCall(0x8400_000an, 0xc400_0003n)).toEqual({ x0: PSCI_NOT_SUPPORTED }); // FEATURES(CPU_ON)
    expect(psciCall(0x8400_0008n, 0n)).toEqual({ systemEvent: 1 });
    expect(psciCall(0x8400_0009n, 0n)).toEqual({ systemEvent: 2 });
    expect(psciCall(0xc400_0003n, 1n)).toEqual({ x0: PSCI_NOT_SUPPORTED }); // CPU_ON: no SMP yet
  });
});
