/**
 * What KVM answers in the kernel and HVF leaves to the VMM: CPUID and the MSRs the
 * hardware does not pass through. Pure lookups over tables the VMM sets.
 *
 *   CPUID: EAX = leaf, ECX = subleaf -> EAX, EBX, ECX, EDX (SDM vol. 2A, CPUID)
 *   RDMSR: ECX = index -> EDX:EAX      WRMSR: ECX = index, EDX:EAX = value (#GP if unknown)
 */
import type { CpuidEntry } from '../arch/x86_64/cpuid.js';

/** kvm_cpuid_entry2.flags: the entry applies only to its own `index` (subleaf). */
const KVM_CPUID_FLAG_SIGNIFCANT_INDEX = 1;

/**
 * The CPUID result for `leaf`/`subleaf` from a KVM-style table (the same entries
 * `Vcpu.setCpuid` takes). A leaf missing from the table reads as zeros.
 */
export function cpuidLookup(
  table: readonly CpuidEntry[],
  leaf: number,
  subleaf: number,
): { eax: number; ebx: number; ecx: number; edx: number } {
  const e = table.find(
    (t) => t.function === leaf >>> 0 && (!(t.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || t.index === subleaf >>> 0),
  );
  return e ? { eax: e.eax >>> 0, ebx: e.ebx >>> 0, ecx: e.ecx >>> 0, edx: e.edx >>> 0 } : { eax: 0, ebx: 0, ecx: 0, edx: 0 };
}

export const MSR = {
  IA32_TSC: 0x10,
  IA32_APIC_BASE: 0x1b,
  IA32_FEATURE_CONTROL: 0x3a,
  IA32_MTRRCAP: 0xfe,
  IA32_SYSENTER_CS: 0x174,
  IA32_SYSENTER_ESP: 0x175,
  IA32_SYSENTER_EIP: 0x176,
  IA32_MISC_ENABLE: 0x1a0,
  IA32_PAT: 0x277,
  IA32_MTRR_DEF_TYPE: 0x2ff,
  EFER: 0xc000_0080,
  STAR: 0xc000_0081,
  LSTAR: 0xc000_0082,
  CSTAR: 0xc000_0083,
  FMASK: 0xc000_0084,
  FS_BASE: 0xc000_0100,
  GS_BASE: 0xc000_0101,
  KERNEL_GS_BASE: 0xc000_0102,
  TSC_AUX: 0xc000_0103,
} as const;

/**
 * MSRs the guest reads and writes directly (hv_vcpu_enable_native_msr), the set QEMU's
 * HVF backend passes through: syscall/sysenter state, FS/GS bases, the TSC.
 */
export const NATIVE_MSRS: readonly number[] = [
  MSR.STAR, MSR.LSTAR, MSR.CSTAR, MSR.FMASK, MSR.FS_BASE, MSR.GS_BASE, MSR.KERNEL_GS_BASE,
  MSR.TSC_AUX, MSR.IA32_TSC, MSR.IA32_SYSENTER_CS, MSR.IA32_SYSENTER_ESP, MSR.IA32_SYSENTER_EIP,
];

/**
 * MSRs emulated in the backend from the start, with their reset values (SDM vol. 4):
 * PAT's power-on value, fast strings enabled, no MTRRs (MTRRcap 0, default type UC),
 * FEATURE_CONTROL locked with VMX off. `setMsrs` adds to or overrides these; any other
 * index raises #GP in the guest, as on a CPU without that MSR.
 */
export const DEFAULT_EMULATED_MSRS: ReadonlyMap<number, bigint> = new Map([
  [MSR.IA32_PAT, 0x0007_0406_0007_0406n],
  [MSR.IA32_MISC_ENABLE, 0x1n],
  [MSR.IA32_MTRRCAP, 0n],
  [MSR.IA32_MTRR_DEF_TYPE, 0n],
  [MSR.IA32_FEATURE_CONTROL, 0x1n],
]);

/** The APIC base a KVM vCPU starts with: 0xfee00000, enabled, BSP flag on vCPU 0. */
export function defaultApicBase(vcpuIndex: number): bigint {
  return 0xfee0_0000n | 0x800n | (vcpuIndex === 0 ? 0x100n : 0n);
}
