/**
 * `HvfVm`: the Hypervisor.framework VM of this process (HVF allows one per process) with
 * its guest RAM and vCPUs, shaped like the KVM `Vm`. Guest RAM is anonymous host memory
 * (page aligned, as hv_vm_map requires), mapped read/write/execute at its guest-physical
 * address and seen from JavaScript as zero-copy views (`GuestMemory`).
 *
 * There is no in-kernel irqchip or PIT on HVF: no `createIrqchip`, `setIrqLine` or
 * `signalMsi` here. The VMM emulates the LAPIC/IOAPIC/PIC and injects with
 * `HvfVcpu.injectInterrupt` (see HVF.md).
 */
import { HyperkitError } from '../errors.js';
import { hypervisor, type HvfApi } from '../ffi/hvf.js';
import type { MemoryRegionSpec } from '../kvm/vm.js';
import { GuestMemory } from '../memory/guest-memory.js';
import { mapRegions, unmapRegions, type HostRegion } from './memory.js';
import { HvfVcpu } from './vcpu.js';

const PAGE = 4096;

export interface HvfVmOptions {
  /** The framework to use; the real one (loaded on first use) by default. Tests pass a fake. */
  api?: HvfApi;
}

export class HvfVm {
  readonly #api: HvfApi;
  #open = true;
  readonly #host: HostRegion[] = [];
  readonly #vcpus: HvfVcpu[] = [];
  #memory = new GuestMemory([]);

  private constructor(api: HvfApi) {
    this.#api = api;
  }

  /**
   * hv_vm_create. Throws `HyperkitError('HVF_UNAVAILABLE')` off macOS/x86_64 and an
   * `HvfError` (`HV_DENIED` without the com.apple.security.hypervisor entitlement,
   * `HV_BUSY` if this process already has a VM, `HV_UNSUPPORTED` without VT-x).
   *
   * @example
   * const vm = HvfVm.create();
   * vm.addMemory([{ gpa: 0, size: 0x10000 }]).write(0x1000, guestCode);
   * const vcpu = vm.createVcpu();
   * for (;;) if (handleExit(vcpu.run(), buses).action !== 'continue') break;
   * vm.close();
   */
  static create({ api = hypervisor() }: HvfVmOptions = {}): HvfVm {
    api.vmCreate();
    return new HvfVm(api);
  }

  get memory(): GuestMemory {
    return this.#memory;
  }

  #check(): void {
    if (!this.#open) throw new HyperkitError('CLOSED', 'the VM is closed');
  }

  /**
   * Allocates and maps guest RAM regions (read, write, execute). If a mapping fails, the
   * regions mapped before it in the same call stay mapped (and are released by `close`).
   */
  addMemory(specs: readonly MemoryRegionSpec[]): GuestMemory {
    this.#check();
    const host: HostRegion[] = [];
    try {
      this.#memory = mapRegions(this.#api, this.#memory, host, specs, PAGE);
    } finally {
      this.#host.push(...host);
    }
    return this.#memory;
  }

  /** hv_vcpu_create on the calling thread, which must then run and close it. */
  createVcpu(id = this.#vcpus.length): HvfVcpu {
    this.#check();
    const vcpu = new HvfVcpu(this.#api, id, () => this.#memory);
    this.#vcpus.push(vcpu);
    return vcpu;
  }

  /** hv_vcpu_interrupt: forces the given vCPUs (running on other threads) out of the guest with an `intr` exit. */
  interrupt(vcpus: readonly HvfVcpu[] = this.#vcpus): void {
    this.#check();
    if (vcpus.length) this.#api.vcpuInterrupt(vcpus.map((v) => v.hvId));
  }

  /** Destroys the vCPUs, unmaps and frees guest RAM, destroys the VM. */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    for (const v of this.#vcpus) v.close();
    this.#memory = new GuestMemory([]);
    unmapRegions(this.#api, this.#host);
    this.#api.vmDestroy();
  }
}
