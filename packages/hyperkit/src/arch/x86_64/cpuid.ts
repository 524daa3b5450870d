/**
 * CPUID for the guest: what KVM supports (KVM_GET_SUPPORTED_CPUID), filtered by the VMM
 * (topology, the hypervisor bit, features hidden on request), set per vCPU with
 * KVM_SET_CPUID2.
 *
 *   struct kvm_cpuid_entry2 { __u32 function, index, flags, eax, ebx, ecx, edx;
 *                             __u32 padding[3]; };                           40 bytes
 *   struct kvm_cpuid2 { __u32 nent; __u32 padding; struct kvm_cpuid_entry2 entries[]; };
 */
export interface CpuidEntry {
  function: number;
  index: number;
  flags: number;
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

export const CPUID_ENTRY_SIZE = 40;
/** Enough for every leaf a current CPU reports (KVM's own limit is 256). */
export const CPUID_MAX_ENTRIES = 256;

export function decodeCpuid2(buf: Uint8Array): CpuidEntry[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const nent = dv.getUint32(0, true);
  if (8 + nent * CPUID_ENTRY_SIZE > buf.byteLength) throw new RangeError(`kvm_cpuid2 claims ${nent} entries, buffer holds fewer`);
  const out: CpuidEntry[] = [];
  for (let i = 0; i < nent; i++) {
    const o = 8 + i * CPUID_ENTRY_SIZE;
    const u = (k: number): number => dv.getUint32(o + k * 4, true);
    out.push({ function: u(0), index: u(1), flags: u(2), eax: u(3), ebx: u(4), ecx: u(5), edx: u(6) });
  }
  return out;
}

export function encodeCpuid2(entries: readonly CpuidEntry[]): Uint8Array {
  const buf = new Uint8Array(8 + entries.length * CPUID_ENTRY_SIZE);
  const dv = new DataView(buf.buffer);
  dv.setUint32(0, entries.length, true);
  entries.forEach((e, i) => {
    const o = 8 + i * CPUID_ENTRY_SIZE;
    [e.function, e.index, e.flags, e.eax, e.ebx, e.ecx, e.edx].forEach((v, k) => dv.setUint32(o + k * 4, v >>> 0, true));
  });
  return buf;
}

/**
 * Features a VMM may hide, with every bit that depends on them (a guest must never see
 * AVX without XSAVE). Bits from the Intel SDM vol. 2A, CPUID leaf 1 and leaf 7.
 */
export const HIDEABLE = {
  /** XSAVE/XRSTOR and everything that needs them (AVX, AVX2, AVX-512, FMA, F16C). */
  xsave: [
    { leaf: 1, reg: 'ecx', bits: [26, 27, 28, 12, 29] },
    { leaf: 7, reg: 'ebx', bits: [5, 16, 17, 21, 26, 27, 28, 30, 31] },
    { leaf: 0xd, reg: 'all', bits: [] },
  ],
  cmpxchg16b: [{ leaf: 1, reg: 'ecx', bits: [13] }],
  /** The TSC-deadline LAPIC timer mode. */
  tscDeadline: [{ leaf: 1, reg: 'ecx', bits: [24] }],
  x2apic: [{ leaf: 1, reg: 'ecx', bits: [21] }],
} as const;
export type HideableFeature = keyof typeof HIDEABLE;

export interface CpuidOptions {
  /** This vCPU's index, which becomes its APIC ID. */
  vcpuId: number;
  /** vCPUs in the VM. */
  vcpuCount: number;
  hide?: readonly HideableFeature[];
}

const CPUID_1_ECX_HYPERVISOR = 31;

/** Pure: the CPUID table a vCPU should see, from what KVM supports. */
export function filterCpuid(supported: readonly CpuidEntry[], { vcpuId, vcpuCount, hide = [] }: CpuidOptions): CpuidEntry[] {
  const dropLeaves = new Set<number>();
  const clear = new Map<string, number>(); // `${leaf}:${reg}` -> mask of bits to clear
  for (const f of hide) {
    for (const rule of HIDEABLE[f]) {
      if (rule.reg === 'all') dropLeaves.add(rule.leaf);
      else clear.set(`${rule.leaf}:${rule.reg}`, (clear.get(`${rule.leaf}:${rule.reg}`) ?? 0) | rule.bits.reduce((m, b) => m | (1 << b), 0));
    }
  }
  const out: CpuidEntry[] = [];
  for (const e0 of supported) {
    if (dropLeaves.has(e0.function)) continue;
    const e = { ...e0 };
    for (const reg of ['eax', 'ebx', 'ecx', 'edx'] as const) {
      const mask = clear.get(`${e.function}:${reg}`);
      if (mask !== undefined && (e.function !== 7 || e.index === 0)) e[reg] = (e[reg] & ~mask) >>> 0;
    }
    if (e.function === 1) {
      // EBX[31:24] initial APIC ID, EBX[23:16] logical processors per package.
      e.ebx = ((e.ebx & 0x0000ffff) | ((vcpuId & 0xff) << 24) | ((vcpuCount & 0xff) << 16)) >>> 0;
      e.ecx = (e.ecx | (1 << CPUID_1_ECX_HYPERVISOR)) >>> 0;
      if (vcpuCount > 1) e.edx = (e.edx | (1 << 28)) >>> 0; // HTT: the EBX count is valid
    }
    if (e.function === 0xb) e.edx = vcpuId >>> 0; // x2APIC ID
    out.push(e);
  }
  return out;
}
