/**
 * The macOS backends over Hypervisor.framework, behind the same shapes as the KVM backend
 * (`HvfVm` ~ `Vm`, `HvfVcpu` ~ `Vcpu`, `run()` -> `VcpuExit`): x86_64 (Intel Macs, VMX) and
 * arm64 (Apple silicon). See HVF.md for what has and has not run.
 */
export { HvfVm, type HvfVmOptions } from './vm.js';
export { HvfVcpu, INTERNAL_ERROR_EMULATION } from './vcpu.js';
export { decodeVmxExit, type VmxExit, type VmxExitInfo } from './exit.js';
export { decodeMmioInstruction, type MmioInstruction, type CpuMode } from './decode.js';
export { translate, type PagingState } from './paging.js';
export { HvfArm64Vm, ARM64_HOST_PAGE, type HvfArm64VmOptions } from './arm64/vm.js';
export { HvfArm64Vcpu, type Arm64Exit, type Arm64Regs } from './arm64/vcpu.js';
export { decodeEsr, type EsrExit } from './arm64/esr.js';
export {
  HvfError,
  hvReturnName,
  HV_RETURN,
  hypervisorUnavailableReason,
  type HvfApi,
  type HvfArm64Api,
  type HvReturnName,
} from '../ffi/hvf.js';
