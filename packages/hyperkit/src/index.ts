/**
 * @kitbox/hyperkit: a lightweight VMM library.
 *
 * What exists today: typed libc/KVM FFI, `Kvm -> Vm -> Vcpu` with guest memory as
 * zero-copy views, vCPU exits as a tagged union handled by a pure function over PIO/MMIO
 * buses. The boot loader, devices and `createVm` follow (issue #5); see README.md.
 */
export { HyperkitError, SyscallError } from './errors.js';
export { Kvm, type KvmOpenOptions } from './kvm/kvm.js';
export { Vm, type MemoryRegionSpec } from './kvm/vm.js';
export { Vcpu } from './kvm/vcpu.js';
export type { Regs, Sregs, Segment, DTable } from './kvm/structs.js';
export { KvmCap, KVM_API_VERSION } from './kvm/ioctls.js';
export { GuestMemory, type GuestRegion } from './memory/guest-memory.js';
export { Bus, type BusDevice } from './devices/bus.js';
export { decodeExit, type VcpuExit } from './vcpu/exit.js';
export { handleExit, type Buses, type ExitAction } from './vcpu/handle.js';
export { runProbeGuest, type ProbeResult } from './kvm/probe.js';
export { VcpuThread } from './vcpu/thread.js';
export { configureVcpu, type VcpuSetup } from './arch/x86_64/vcpu-setup.js';
export { createVm, VirtualMachine, type VmConfig, type VmExitReason } from './vm/machine.js';
export { loadBzImage, parseSetupHeader, type LoadedKernel, type SetupHeader } from './loader/bzimage.js';
export { Uart16550, type Uart16550Options } from './devices/legacy/uart16550.js';
export { filterCpuid, type CpuidEntry, type CpuidOptions, type HideableFeature } from './arch/x86_64/cpuid.js';
