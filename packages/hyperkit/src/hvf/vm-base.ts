/**
 * What the x86_64 and arm64 Hypervisor.framework VMs share: the one VM of the process, its
 * guest RAM (anonymous host memory mapped at guest-physical addresses, aligned to the host
 * page, seen as `GuestMemory`), its vCPUs, and the order of teardown.
 */
import { HyperkitError } from '../errors.js';
import type { MemoryRegionSpec } from '../kvm/vm.js';
import { GuestMemory } from '../memory/guest-memory.js';
import { mapRegions, unmapRegions, type HostRegion, type MappingApi } from './memory.js';

export abstract class HvfVmBase<A extends MappingApi & { vmDestroy(): void }, V extends { readonly hvId: number | bigint; close(): void }> {
  protected readonly api: A;
  readonly #page: number;
  #open = true;
  readonly #host: HostRegion[] = [];
  readonly #vcpus: V[] = [];
  #memory = new GuestMemory([]);

  protected constructor(api: A, page: number) {
    this.api = api;
    this.#page = page;
  }

  /** The vCPU of this backend, bound to the calling thread. */
  protected abstract newVcpu(id: number, memory: () => GuestMemory): V;
  /** Forces running vCPUs (on other threads) out of the guest. */
  protected abstract kick(ids: V['hvId'][]): void;

  get memory(): GuestMemory {
    return this.#memory;
  }

  protected check(): void {
    if (!this.#open) throw new HyperkitError('CLOSED', 'the VM is closed');
  }

  /**
   * Allocates and maps guest RAM regions (read, write, execute), aligned to the host page. If
   * a mapping fails, the regions mapped before it in the same call stay mapped (and are
   * released by `close`).
   */
  addMemory(specs: readonly MemoryRegionSpec[]): GuestMemory {
    this.check();
    const host: HostRegion[] = [];
    try {
      this.#memory = mapRegions(this.api, this.#memory, host, specs, this.#page);
    } finally {
      this.#host.push(...host);
    }
    return this.#memory;
  }

  /** Creates a vCPU on the calling thread, which must then run and close it. */
  createVcpu(id = this.#vcpus.length): V {
    this.check();
    const vcpu = this.newVcpu(id, () => this.#memory);
    this.#vcpus.push(vcpu);
    return vcpu;
  }

  /** Forces the given vCPUs (running on other threads) out of the guest with an `intr` exit. */
  interrupt(vcpus: readonly V[] = this.#vcpus): void {
    this.check();
    if (vcpus.length) this.kick(vcpus.map((v) => v.hvId));
  }

  /** Destroys the vCPUs, unmaps and frees guest RAM, destroys the VM. */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    for (const v of this.#vcpus) v.close();
    this.#memory = new GuestMemory([]);
    unmapRegions(this.api, this.#host);
    this.api.vmDestroy();
  }
}
