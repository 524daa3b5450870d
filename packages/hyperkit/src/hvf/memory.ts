/**
 * Guest RAM on Hypervisor.framework, shared by the x86_64 and arm64 VMs: each region is
 * anonymous host memory (aligned to the host page, as hv_vm_map requires) mapped
 * read/write/execute at its guest-physical address, and seen from JavaScript as the same
 * zero-copy `GuestMemory` the KVM backend uses.
 */
import { HyperkitError } from '../errors.js';
import { HV_MEMORY_EXEC, HV_MEMORY_READ, HV_MEMORY_WRITE, type HostMemory } from '../ffi/hvf.js';
import type { MemoryRegionSpec } from '../kvm/vm.js';
import { GuestMemory } from '../memory/guest-memory.js';

/** Bounds on what a caller may ask for, as for the KVM `Vm`. */
export const MAX_REGIONS = 32;

export interface MappingApi {
  allocate(length: number): HostMemory;
  vmMap(uva: bigint, gpa: bigint, size: number, flags: bigint): void;
  vmUnmap(gpa: bigint, size: number): void;
}

export interface HostRegion {
  readonly memory: HostMemory;
  readonly gpa: number;
}

/**
 * Allocates and maps `specs` after the regions already in `host`; returns the new
 * `GuestMemory`. Checks alignment and overlap before mapping anything; frees what it
 * allocated if the framework refuses a mapping.
 */
export function mapRegions(
  api: MappingApi,
  current: GuestMemory,
  host: HostRegion[],
  specs: readonly MemoryRegionSpec[],
  page: number,
): GuestMemory {
  if (host.length + specs.length > MAX_REGIONS) {
    throw new HyperkitError('MEMORY_REGIONS', `at most ${MAX_REGIONS} memory regions`);
  }
  const regions = [...current.regions];
  for (const { gpa, size } of specs) {
    if (!Number.isSafeInteger(gpa) || gpa < 0 || gpa % page || !Number.isSafeInteger(size) || size <= 0 || size % page) {
      throw new HyperkitError('MEMORY_REGION', `memory region 0x${gpa.toString(16)}+0x${size.toString(16)} is not aligned to ${page} bytes`);
    }
  }
  // Overlaps (with each other or with what is mapped) are refused before anything is mapped.
  new GuestMemory([...regions, ...specs.map(({ gpa, size }) => ({ gpa, hostAddress: 0n, bytes: new Uint8Array(size) }))]);
  for (const { gpa, size } of specs) {
    const memory = api.allocate(size);
    try {
      api.vmMap(memory.address, BigInt(gpa), size, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC);
    } catch (err) {
      memory.free();
      throw err;
    }
    host.push({ memory, gpa });
    regions.push({ gpa, hostAddress: memory.address, bytes: new Uint8Array(memory.buffer, 0, size) });
  }
  return new GuestMemory(regions);
}

/** Unmaps and frees every region. */
export function unmapRegions(api: MappingApi, host: readonly HostRegion[]): void {
  for (const { memory, gpa } of host) {
    api.vmUnmap(BigInt(gpa), memory.length);
    memory.free();
  }
}
