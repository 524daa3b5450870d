import { describe, expect, it } from 'vitest';
import { decodeVmxExit, reinjection, type VmxExitInfo } from './exit.js';
import { VMX_EXIT } from './vmcs.js';

/** Exit information as read from the VMCS, zero unless given. */
function info(reason: number, more: Partial<VmxExitInfo> = {}): VmxExitInfo {
  return {
    reason,
    qualification: 0n,
    guestPhysical: 0n,
    guestLinear: 0n,
    instructionLength: 0,
    instructionInfo: 0,
    interruptionInfo: 0,
    interruptionErrorCode: 0,
    idtVectoringInfo: 0,
    idtVectoringErrorCode: 0,
    ...more,
  };
}

describe('decodeVmxExit: I/O instruction', () => {
  it('decodes `out dx, al` to port 0x3f8', () => {
    // port[31:16]=0x3f8, imm[6]=0 (DX), rep[5]=0, string[4]=0, in[3]=0, size-1[2:0]=0
    const q = 0x03f8_0000n;
    expect(decodeVmxExit(info(VMX_EXIT.IO_INSTRUCTION, { qualification: q, instructionLength: 1 }))).toEqual({
      kind: 'io', port: 0x3f8, size: 1, in: false, string: false, rep: false, addressSize: 8, linear: 0n, length: 1,
    });
  });

  it('decodes `in eax, 0x71` (immediate operand, 4 bytes)', () => {
    // port 0x71, imm[6]=1, in[3]=1, size-1=3
    const q = (0x71n << 16n) | 0x40n | 0x8n | 0x3n;
    expect(decodeVmxExit(info(VMX_EXIT.IO_INSTRUCTION, { qualification: q, instructionLength: 2 }))).toMatchObject({
      kind: 'io', port: 0x71, size: 4, in: true, string: false, length: 2,
    });
  });

  it('decodes `rep outsw` with a 32-bit address size and the operand linear address', () => {
    // port 0x1f0, rep[5]=1, string[4]=1, out, size-1=1; instruction info address-size[9:7]=1 (32-bit)
    const q = (0x1f0n << 16n) | 0x20n | 0x10n | 0x1n;
    const e = decodeVmxExit(info(VMX_EXIT.IO_INSTRUCTION, { qualification: q, instructionInfo: 1 << 7, guestLinear: 0x8000n, instructionLength: 3 }));
    expect(e).toEqual({ kind: 'io', port: 0x1f0, size: 2, in: false, string: true, rep: true, addressSize: 4, linear: 0x8000n, length: 3 });
  });

  it('refuses an I/O size the CPU never reports (size-1 = 2)', () => {
    expect(decodeVmxExit(info(VMX_EXIT.IO_INSTRUCTION, { qualification: 0x2n }))).toMatchObject({ kind: 'other', reason: 30 });
  });
});

describe('decodeVmxExit: other reasons', () => {
  it('decodes an EPT violation: a data write with the linear address valid', () => {
    // write[1]=1, readable/writable/executable[5:3]=0 (not mapped), linear-valid[7]=1
    const e = decodeVmxExit(info(VMX_EXIT.EPT_VIOLATION, { qualification: 0x82n, guestPhysical: 0xfee0_0300n, guestLinear: 0xffff_8000_fee0_0300n }));
    expect(e).toEqual({ kind: 'ept-violation', gpa: 0xfee0_0300n, read: false, write: true, fetch: false, linear: 0xffff_8000_fee0_0300n });
  });

  it('decodes an EPT violation read without a linear address', () => {
    expect(decodeVmxExit(info(VMX_EXIT.EPT_VIOLATION, { qualification: 0x1n, guestPhysical: 0xd000_0000n }))).toEqual({
      kind: 'ept-violation', gpa: 0xd000_0000n, read: true, write: false, fetch: false,
    });
  });

  it('decodes a control-register access: `mov cr0, rbx`, `mov rax, cr8`, `lmsw`', () => {
    // cr[3:0]=0, type[5:4]=0 (mov to), gpr[11:8]=3 (rbx)
    expect(decodeVmxExit(info(VMX_EXIT.CR_ACCESS, { qualification: 0x300n, instructionLength: 3 }))).toEqual({
      kind: 'cr-access', cr: 0, access: 'mov-to', gpr: 3, lmswData: 0, length: 3,
    });
    // cr 8, type 1 (mov from), gpr 0
    expect(decodeVmxExit(info(VMX_EXIT.CR_ACCESS, { qualification: 0x18n }))).toMatchObject({ cr: 8, access: 'mov-from', gpr: 0 });
    // type 3 (lmsw), source data[31:16] = 0x0001
    expect(decodeVmxExit(info(VMX_EXIT.CR_ACCESS, { qualification: 0x1_0030n }))).toMatchObject({ access: 'lmsw', lmswData: 1 });
  });

  it('marks a failed VM entry by bit 31 whatever the basic reason', () => {
    const e = decodeVmxExit(info(0x8000_0000 | VMX_EXIT.ENTRY_FAIL_GUEST_STATE, { qualification: 3n }));
    expect(e).toEqual({ kind: 'entry-failure', reason: 33, qualification: 3n });
  });

  it('decodes an exception with its error code only when the CPU delivered one', () => {
    // vector 13 (#GP), type 3 (hardware exception), error-valid[11], valid[31]
    const gp = decodeVmxExit(info(VMX_EXIT.EXCEPTION_NMI, { interruptionInfo: 0x8000_0b0d, interruptionErrorCode: 0x18 }));
    expect(gp).toEqual({ kind: 'exception', vector: 13, type: 3, errorCode: 0x18 });
    const ud = decodeVmxExit(info(VMX_EXIT.EXCEPTION_NMI, { interruptionInfo: 0x8000_0306 }));
    expect(ud).toEqual({ kind: 'exception', vector: 6, type: 3 });
  });

  it('decodes the simple reasons and keeps the rest as `other`', () => {
    expect(decodeVmxExit(info(VMX_EXIT.HLT, { instructionLength: 1 }))).toEqual({ kind: 'hlt', length: 1 });
    expect(decodeVmxExit(info(VMX_EXIT.TRIPLE_FAULT))).toEqual({ kind: 'triple-fault' });
    expect(decodeVmxExit(info(VMX_EXIT.EXTERNAL_INTERRUPT))).toEqual({ kind: 'external-interrupt' });
    expect(decodeVmxExit(info(VMX_EXIT.CPUID, { instructionLength: 2 }))).toEqual({ kind: 'cpuid', length: 2 });
    expect(decodeVmxExit(info(VMX_EXIT.RDMSR, { instructionLength: 2 }))).toEqual({ kind: 'rdmsr', length: 2 });
    expect(decodeVmxExit(info(VMX_EXIT.WRMSR, { instructionLength: 2 }))).toEqual({ kind: 'wrmsr', length: 2 });
    expect(decodeVmxExit(info(VMX_EXIT.VMCALL, { qualification: 0n, instructionLength: 3 }))).toEqual({
      kind: 'other', reason: 18, qualification: 0n, length: 3,
    });
  });
});

describe('reinjection', () => {
  it('has nothing to redo when no delivery was cut short', () => {
    expect(reinjection(info(VMX_EXIT.EPT_VIOLATION))).toBeUndefined();
  });

  it('re-delivers an external interrupt as it was', () => {
    // vector 0x30, type 0 (external), valid
    expect(reinjection(info(VMX_EXIT.EPT_VIOLATION, { idtVectoringInfo: 0x8000_0030 }))).toEqual({ intrInfo: 0x8000_0030 });
  });

  it('re-delivers a #PF with its error code, dropping the undefined bit 12', () => {
    // vector 14, type 3 (hardware exception), error-valid[11], bit 12 set by the CPU, valid
    expect(reinjection(info(VMX_EXIT.EPT_VIOLATION, { idtVectoringInfo: 0x8000_1b0e, idtVectoringErrorCode: 2 }))).toEqual({
      intrInfo: 0x8000_0b0e,
      errorCode: 2,
    });
  });

  it('re-delivers `int 0x80` with the instruction length', () => {
    // vector 0x80, type 4 (software interrupt), valid; instruction length 2
    expect(reinjection(info(VMX_EXIT.EPT_VIOLATION, { idtVectoringInfo: 0x8000_0480, instructionLength: 2 }))).toEqual({
      intrInfo: 0x8000_0480,
      instructionLength: 2,
    });
  });
});
