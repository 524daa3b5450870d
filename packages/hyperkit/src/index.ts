/**
 * @kitbox/hyperkit: a lightweight VMM library.
 *
 * Typed libc/KVM FFI, `Kvm -> Vm -> Vcpu` with guest memory as zero-copy views, vCPU exits
 * as a tagged union handled by a pure function over PIO/MMIO buses, bzImage and ELF
 * loaders, ACPI, legacy and virtio-pci devices, and `createVm`; see README.md.
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
export { assignSlots, createVm, VirtualMachine, type DeviceConfig, type VmConfig, type VmExitReason } from './vm/machine.js';
export { loadBzImage, parseSetupHeader, type LoadedKernel, type SetupHeader } from './loader/bzimage.js';
export { isElf, loadElf, parseElf, type ElfKernel, type ElfOptions, type ElfSegment, type LoadedElf } from './loader/elf.js';
export { writeAcpiTables } from './arch/x86_64/acpi.js';
export { Uart16550, type Uart16550Options } from './devices/legacy/uart16550.js';
export { filterCpuid, type CpuidEntry, type CpuidOptions, type HideableFeature } from './arch/x86_64/cpuid.js';
// macOS (Hypervisor.framework), x86_64 and arm64: written and unit-tested on Linux only; see HVF.md.
export * from './hvf/index.js';
