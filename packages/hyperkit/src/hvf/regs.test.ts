import { describe, expect, it } from 'vitest';
import { BOOT_GDT, segmentFromGdt } from '../arch/x86_64/regs.js';
import { controlState, guestView, lmsw, CR0_OWNED } from './control.js';
import { cpuidLookup, defaultApicBase } from './cpu-state.js';
import { GPR_BY_ENCODING, HV_X86, REG_IDS, segmentAccessRights, segmentFromVmcs } from './regs.js';
import { cap2ctrl, ENTRY_CTLS } from './vmcs.js';

describe('segment access rights', () => {
  it('encodes the boot GDT descriptors as VMX access rights', () => {
    const code = segmentFromGdt(BOOT_GDT[1] as bigint, 0x08);
    const data = segmentFromGdt(BOOT_GDT[2] as bigint, 0x10);
    const tss = segmentFromGdt(BOOT_GDT[3] as bigint, 0x18);
    // G[15] L[13] P[7] S[4] type 0xb (execute/read, accessed)
    expect(segmentAccessRights(code).toString(16)).toBe('a09b');
    // G[15] D/B[14] P[7] S[4] type 0x3 (read/write, accessed)
    expect(segmentAccessRights(data).toString(16)).toBe('c093');
    // P[7] type 0xb (busy 64-bit TSS), S=0
    expect(segmentAccessRights(tss).toString(16)).toBe('808b');
  });

  it('marks an unusable segment with bit 16 only, and round-trips through the VMCS values', () => {
    const ldt = { base: 0n, limit: 0, selector: 0, type: 2, present: 0, dpl: 0, db: 0, s: 0, l: 0, g: 0, avl: 0, unusable: 1 };
    expect(segmentAccessRights(ldt)).toBe(0x10000);
    const code = segmentFromGdt(BOOT_GDT[1] as bigint, 0x08);
    expect(segmentFromVmcs(code.selector, code.base, code.limit, segmentAccessRights(code))).toEqual(code);
  });
});

describe('register numbering', () => {
  it('maps Regs fields to hv_x86_reg_t and instruction encodings to the same registers', () => {
    expect(REG_IDS.rip).toBe(0);
    expect(REG_IDS.rflags).toBe(1);
    expect(REG_IDS.rax).toBe(2);
    expect(REG_IDS.r15).toBe(17);
    // ModRM order: rax rcx rdx rbx rsp rbp rsi rdi
    expect(GPR_BY_ENCODING.slice(0, 8)).toEqual([REG_IDS.rax, REG_IDS.rcx, REG_IDS.rdx, REG_IDS.rbx, REG_IDS.rsp, REG_IDS.rbp, REG_IDS.rsi, REG_IDS.rdi]);
    expect(GPR_BY_ENCODING[9]).toBe(REG_IDS.r9);
    expect([HV_X86.CR0, HV_X86.CR2, HV_X86.TPR, HV_X86.XCR0]).toEqual([36, 38, 49, 50]);
  });
});

describe('VMX controls', () => {
  it('cap2ctrl adds must-be-one bits and drops bits the CPU does not allow', () => {
    // allowed-1 (high half): bits 0..7 and 31; must-be-1 (low half): bit 1
    const cap = (0x8000_00ffn << 32n) | 0x2n;
    expect(cap2ctrl(cap, (1 << 7) | (1 << 24) | (1 << 31))).toBe(((1 << 7) | (1 << 1) | (1 << 31)) >>> 0);
  });

  it('controlState hides NE/VMXE from the guest and keeps LMA with LME and PG', () => {
    const lme = 0x100n;
    const on = controlState(0x8000_0011n, 0x20n, lme, ENTRY_CTLS.LOAD_IA32_EFER);
    expect(on).toEqual({
      guestCr0: 0x8000_0031n, // NE forced
      cr0Shadow: 0x8000_0011n,
      guestCr4: 0x2020n, // VMXE forced
      cr4Shadow: 0x20n,
      efer: 0x500n, // LMA set
      entryCtls: ENTRY_CTLS.LOAD_IA32_EFER | ENTRY_CTLS.IA32E_MODE_GUEST,
    });
    const off = controlState(0x11n, 0x20n, 0x500n, on.entryCtls);
    expect(off.efer).toBe(lme);
    expect(off.entryCtls).toBe(ENTRY_CTLS.LOAD_IA32_EFER);
    expect(guestView(on.guestCr0, on.cr0Shadow, CR0_OWNED)).toBe(0x8000_0011n);
  });

  it('lmsw loads CR0[3:0] but cannot clear PE', () => {
    expect(lmsw(0x8000_0011n, 0x0)).toBe(0x8000_0011n);
    expect(lmsw(0x10n, 0xf)).toBe(0x1fn);
  });
});

describe('backend CPU state', () => {
  const table = [
    { function: 0, index: 0, flags: 0, eax: 0xd, ebx: 0x756e6547, ecx: 0x6c65746e, edx: 0x49656e69 },
    { function: 7, index: 0, flags: 1, eax: 0, ebx: 0x29c6fbf, ecx: 0, edx: 0 },
    { function: 7, index: 1, flags: 1, eax: 0x10, ebx: 0, ecx: 0, edx: 0 },
  ];
  it('looks CPUID up by leaf, and by subleaf only where the entry says the index matters', () => {
    expect(cpuidLookup(table, 0, 5).ebx).toBe(0x756e6547);
    expect(cpuidLookup(table, 7, 1).eax).toBe(0x10);
    expect(cpuidLookup(table, 7, 0).ebx).toBe(0x29c6fbf);
    expect(cpuidLookup(table, 0x4000_0000, 0)).toEqual({ eax: 0, ebx: 0, ecx: 0, edx: 0 });
  });
  it('starts the APIC base like KVM: enabled, BSP on vCPU 0 only', () => {
    expect(defaultApicBase(0)).toBe(0xfee0_0900n);
    expect(defaultApicBase(1)).toBe(0xfee0_0800n);
  });
});
