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
import { hypervisor, type HvfApi } from '../ffi/hvf.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import { HvfVcpu } from './vcpu.js';
import { HvfVmBase } from './vm-base.js';

const PAGE = 4096;

export interface HvfVmOptions {
  /** The framework to use; the real one (loaded on first use) by default. Tests pass a fake. */
  api?: HvfApi;
}

export class HvfVm extends HvfVmBase<HvfApi, HvfVcpu> {
  private constructor(api: HvfApi) {
    super(api, PAGE);
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

  protected newVcpu(id: number, memory: () => GuestMemory): HvfVcpu {
    return new HvfVcpu(this.api, id, memory);
  }

  /** hv_vcpu_interrupt. */
  protected kick(ids: number[]): void {
    this.api.vcpuInterrupt(ids);
  }
}
