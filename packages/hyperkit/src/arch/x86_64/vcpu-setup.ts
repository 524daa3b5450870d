/**
 * Puts a vCPU in the state Linux's 64-bit boot protocol expects: CPUID, boot MSRs, FPU,
 * the LAPIC's LINT0/LINT1 wiring, long mode with the boot page tables, and registers
 * pointing at the entry point (the rust-vmm/Firecracker `configure_vcpu` sequence).
 */
import type { Kvm } from '../../kvm/kvm.js';
import type { Vcpu } from '../../kvm/vcpu.js';
import type { GuestMemory } from '../../memory/guest-memory.js';
import { filterCpuid, type HideableFeature } from './cpuid.js';
import { bootRegs, setupLongMode } from './regs.js';

/** MSR numbers (Intel SDM vol. 4) and the values Linux expects at entry. */
const MSR = {
  IA32_SYSENTER_CS: 0x174,
  IA32_SYSENTER_ESP: 0x175,
  IA32_SYSENTER_EIP: 0x176,
  STAR: 0xc000_0081,
  LSTAR: 0xc000_0082,
  CSTAR: 0xc000_0083,
  SYSCALL_MASK: 0xc000_0084,
  KERNEL_GS_BASE: 0xc000_0102,
  IA32_TSC: 0x10,
  IA32_MISC_ENABLE: 0x1a0,
  MTRR_DEF_TYPE: 0x2ff,
} as const;
const MISC_ENABLE_FAST_STRING = 1n;
const MTRR_ENABLE = 1n << 11n;
const MTRR_MEM_TYPE_WB = 6n;

/** LAPIC local vector table entries (Intel SDM vol. 3A, 10.5.1). */
const APIC_LVT0 = 0x350;
const APIC_LVT1 = 0x360;
const APIC_MODE_NMI = 0x4;
const APIC_MODE_EXTINT = 0x7;

export interface VcpuSetup {
  vcpuId: number;
  vcpuCount: number;
  /** Guest entry point (64-bit). */
  entry: number | bigint;
  hideCpuFeatures?: readonly HideableFeature[];
  /** Whether the VM has an in-kernel irqchip (then LINT0 is ExtINT and LINT1 NMI). */
  irqchip: boolean;
}

export function bootMsrs(): { index: number; data: bigint }[] {
  return [
    { index: MSR.IA32_SYSENTER_CS, data: 0n },
    { index: MSR.IA32_SYSENTER_ESP, data: 0n },
    { index: MSR.IA32_SYSENTER_EIP, data: 0n },
    { index: MSR.STAR, data: 0n },
    { index: MSR.CSTAR, data: 0n },
    { index: MSR.KERNEL_GS_BASE, data: 0n },
    { index: MSR.SYSCALL_MASK, data: 0n },
    { index: MSR.LSTAR, data: 0n },
    { index: MSR.IA32_TSC, data: 0n },
    { index: MSR.IA32_MISC_ENABLE, data: MISC_ENABLE_FAST_STRING },
    { index: MSR.MTRR_DEF_TYPE, data: MTRR_ENABLE | MTRR_MEM_TYPE_WB },
  ];
}

/** Pure: the LAPIC page with LINT0 as ExtINT (the legacy PIC) and LINT1 as NMI. */
export function wireLints(page: Uint8Array): Uint8Array {
  const dv = new DataView(page.buffer, page.byteOffset, page.byteLength);
  const set = (off: number, mode: number): void => dv.setUint32(off, ((dv.getUint32(off, true) & ~0x700) | (mode << 8)) >>> 0, true);
  set(APIC_LVT0, APIC_MODE_EXTINT);
  set(APIC_LVT1, APIC_MODE_NMI);
  return page;
}

export function configureVcpu(kvm: Kvm, vcpu: Vcpu, mem: GuestMemory, s: VcpuSetup): void {
  const cpuid = filterCpuid(kvm.supportedCpuid(), {
    vcpuId: s.vcpuId,
    vcpuCount: s.vcpuCount,
    hide: s.hideCpuFeatures ?? [],
  });
  vcpu.setCpuid(cpuid);
  vcpu.setMsrs(bootMsrs());
  vcpu.setFpu({ fcw: 0x37f, mxcsr: 0x1f80 });
  if (s.irqchip) vcpu.setLapic(wireLints(vcpu.getLapic()));
  vcpu.setSregs(setupLongMode(mem, vcpu.getSregs()));
  vcpu.setRegs(bootRegs(s.entry));
}
