/**
 * `HvfArm64Vm`: the arm64 Hypervisor.framework VM of this process (Apple silicon; one per
 * process), shaped like the KVM `Vm`: guest RAM in 16 KiB-aligned regions (the host page),
 * seen as `GuestMemory`, and `HvfArm64Vcpu`s. No GIC: the VMM models the interrupt
 * controller and drives each vCPU's IRQ/FIQ line (see HVF.md).
 */
import { hypervisorArm64, type HvfArm64Api } from '../../ffi/hvf.js';
import type { GuestMemory } from '../../memory/guest-memory.js';
import { HvfVmBase } from '../vm-base.js';
import { HvfArm64Vcpu } from './vcpu.js';

/** Apple silicon's host page: hv_vm_map wants addresses and sizes aligned to it. */
export const ARM64_HOST_PAGE = 16384;

export interface HvfArm64VmOptions {
  /** The framework to use; the real one (loaded on first use) by default. Tests pass a fake. */
  api?: HvfArm64Api;
}

export class HvfArm64Vm extends HvfVmBase<HvfArm64Api, HvfArm64Vcpu> {
  private constructor(api: HvfArm64Api) {
    super(api, ARM64_HOST_PAGE);
  }

  /** hv_vm_create(NULL). `HVF_UNAVAILABLE` anywhere but darwin/arm64. */
  static create({ api = hypervisorArm64() }: HvfArm64VmOptions = {}): HvfArm64Vm {
    api.vmCreate();
    return new HvfArm64Vm(api);
  }

  protected newVcpu(id: number, memory: () => GuestMemory): HvfArm64Vcpu {
    return new HvfArm64Vcpu(this.api, id, memory);
  }

  /** hv_vcpus_exit. */
  protected kick(ids: bigint[]): void {
    this.api.vcpusExit(ids);
  }
}
