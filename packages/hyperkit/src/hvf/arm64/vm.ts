/**
 * `HvfArm64Vm`: the arm64 Hypervisor.framework VM of this process (Apple silicon; one per
 * process), shaped like the KVM `Vm`: guest RAM in 16 KiB-aligned regions (the host page),
 * seen as `GuestMemory`, and `HvfArm64Vcpu`s. No GIC: the VMM models the interrupt
 * controller and drives each vCPU's IRQ/FIQ line (see HVF.md).
 */
import { HyperkitError } from '../../errors.js';
import { hypervisorArm64, type HvfArm64Api } from '../../ffi/hvf.js';
import type { MemoryRegionSpec } from '../../kvm/vm.js';
import { GuestMemory } from '../../memory/guest-memory.js';
import { mapRegions, unmapRegions, type HostRegion } from '../memory.js';
import { HvfArm64Vcpu } from './vcpu.js';

/** Apple silicon's host page: hv_vm_map wants addresses and sizes aligned to it. */
export const ARM64_HOST_PAGE = 16384;

export interface HvfArm64VmOptions {
  /** The framework to use; the real one (loaded on first use) by default. Tests pass a fake. */
  api?: HvfArm64Api;
}

export class HvfArm64Vm {
  readonly #api: HvfArm64Api;
  #open = true;
  readonly #host: HostRegion[] = [];
  readonly #vcpus: HvfArm64Vcpu[] = [];
  #memory = new GuestMemory([]);

  private constructor(api: HvfArm64Api) {
    this.#api = api;
  }

  /** hv_vm_create(NULL). `HVF_UNAVAILABLE` anywhere but darwin/arm64. */
  static create({ api = hypervisorArm64() }: HvfArm64VmOptions = {}): HvfArm64Vm {
    api.vmCreate();
    return new HvfArm64Vm(api);
  }

  get memory(): GuestMemory {
    return this.#memory;
  }

  #check(): void {
    if (!this.#open) throw new HyperkitError('CLOSED', 'the VM is closed');
  }

  /** Allocates and maps guest RAM regions (read, write, execute), each 16 KiB aligned. */
  addMemory(specs: readonly MemoryRegionSpec[]): GuestMemory {
    this.#check();
    const host: HostRegion[] = [];
    try {
      this.#memory = mapRegions(this.#api, this.#memory, host, specs, ARM64_HOST_PAGE);
    } finally {
      this.#host.push(...host);
    }
    return this.#memory;
  }

  /** hv_vcpu_create on the calling thread, which must then run and close it. */
  createVcpu(id = this.#vcpus.length): HvfArm64Vcpu {
    this.#check();
    const vcpu = new HvfArm64Vcpu(this.#api, id, () => this.#memory);
    this.#vcpus.push(vcpu);
    return vcpu;
  }

  /** hv_vcpus_exit: forces the given vCPUs (running on other threads) out with an `intr` exit. */
  interrupt(vcpus: readonly HvfArm64Vcpu[] = this.#vcpus): void {
    this.#check();
    if (vcpus.length) this.#api.vcpusExit(vcpus.map((v) => v.hvId));
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    for (const v of this.#vcpus) v.close();
    this.#memory = new GuestMemory([]);
    unmapRegions(this.#api, this.#host);
    this.#api.vmDestroy();
  }
}
