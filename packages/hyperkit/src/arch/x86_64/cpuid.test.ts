import { describe, expect, it } from 'vitest';
import { decodeCpuid2, encodeCpuid2, filterCpuid, type CpuidEntry } from './cpuid.js';

const leaf = (fn: number, r: Partial<CpuidEntry> = {}): CpuidEntry => ({
  function: fn, index: 0, flags: 0, eax: 0, ebx: 0, ecx: 0, edx: 0, ...r,
});

describe('filterCpuid', () => {
  const supported = [
    leaf(0, { eax: 0xd, ebx: 0x756e6547 }),
    leaf(1, { ebx: 0x00010800, ecx: (1 << 26) | (1 << 28) | (1 << 13) | (1 << 0), edx: 1 }),
    leaf(7, { ebx: (1 << 5) | (1 << 3) }),
    leaf(7, { index: 1, ebx: 1 << 5 }),
    leaf(0xb, { edx: 99 }),
    leaf(0xd, { eax: 7 }),
  ];

  it('sets APIC IDs, the processor count and the hypervisor bit', () => {
    const out = filterCpuid(supported, { vcpuId: 3, vcpuCount: 4 });
    const l1 = out.find((e) => e.function === 1) as CpuidEntry;
    expect(l1.ebx >>> 24).toBe(3);
    expect((l1.ebx >>> 16) & 0xff).toBe(4);
    expect(l1.ebx & 0xffff).toBe(0x0800);
    expect(l1.ecx >>> 31).toBe(1);
    expect((l1.edx >>> 28) & 1).toBe(1);
    expect(out.find((e) => e.function === 0xb)?.edx).toBe(3);
    expect(out).toHaveLength(supported.length);
  });

  it('hides XSAVE with everything that depends on it, and CMPXCHG16B', () => {
    const out = filterCpuid(supported, { vcpuId: 0, vcpuCount: 1, hide: ['xsave', 'cmpxchg16b'] });
    const l1 = out.find((e) => e.function === 1) as CpuidEntry;
    expect(l1.ecx & ((1 << 26) | (1 << 28) | (1 << 13))).toBe(0);
    expect(l1.ecx & 1).toBe(1); // SSE3 untouched
    const l7 = out.filter((e) => e.function === 7);
    expect(l7[0]?.ebx).toBe(1 << 3); // AVX2 gone, BMI1 kept
    expect(l7[1]?.ebx).toBe(1 << 5); // subleaf 1 is a different bit map: untouched
    expect(out.some((e) => e.function === 0xd)).toBe(false);
  });

  it('round-trips kvm_cpuid2 and refuses a count the buffer cannot hold', () => {
    const buf = encodeCpuid2(supported);
    expect(buf.length).toBe(8 + 40 * supported.length);
    expect(decodeCpuid2(buf)).toEqual(supported);
    new DataView(buf.buffer).setUint32(0, 1000, true);
    expect(() => decodeCpuid2(buf)).toThrow(RangeError);
  });
});
