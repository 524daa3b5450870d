/**
 * KVM ioctl numbers, from include/uapi/linux/kvm.h, computed with the _IO* macros.
 * Struct sizes are those of the x86_64 ABI.
 */
import { io, ior, iow, iowr } from '../ffi/ioctl.js';

/** `#define KVMIO 0xAE` */
export const KVMIO = 0xae;

// System ioctls (on the /dev/kvm fd).
export const KVM_GET_API_VERSION = io(KVMIO, 0x00);
export const KVM_CREATE_VM = io(KVMIO, 0x01);
export const KVM_CHECK_EXTENSION = io(KVMIO, 0x03);
export const KVM_GET_VCPU_MMAP_SIZE = io(KVMIO, 0x04);
/** `_IOWR(KVMIO, 0x05, struct kvm_cpuid2)`: nent[4] padding[4] entries[] */
export const KVM_GET_SUPPORTED_CPUID = iowr(KVMIO, 0x05, 8);

// VM ioctls.
export const KVM_CREATE_VCPU = io(KVMIO, 0x41);
/** `_IOW(KVMIO, 0x46, struct kvm_userspace_memory_region)`: slot[4] flags[4] gpa[8] size[8] uaddr[8] */
export const KVM_SET_USER_MEMORY_REGION = iow(KVMIO, 0x46, 32);
export const KVM_SET_TSS_ADDR = io(KVMIO, 0x47);
/** `_IOW(KVMIO, 0x48, __u64)` */
export const KVM_SET_IDENTITY_MAP_ADDR = iow(KVMIO, 0x48, 8);
export const KVM_CREATE_IRQCHIP = io(KVMIO, 0x60);
/** `_IOW(KVMIO, 0x61, struct kvm_irq_level)`: irq[4] level[4] */
export const KVM_IRQ_LINE = iow(KVMIO, 0x61, 8);
/** `_IOW(KVMIO, 0x77, struct kvm_pit_config)`: flags[4] pad[60] */
export const KVM_CREATE_PIT2 = iow(KVMIO, 0x77, 64);
/** struct kvm_msi { __u32 address_lo, address_hi, data, flags; __u32 devid; __u8 pad[12]; } */
export const KVM_SIGNAL_MSI = iow(KVMIO, 0xa5, 32);
/** `_IOW(KVMIO, 0x76, struct kvm_irqfd)`: fd[4] gsi[4] flags[4] resamplefd[4] pad[16] */
export const KVM_IRQFD = iow(KVMIO, 0x76, 32);
/** `_IOW(KVMIO, 0x79, struct kvm_ioeventfd)`: datamatch[8] addr[8] len[4] fd[4] flags[4] pad[36] */
export const KVM_IOEVENTFD = iow(KVMIO, 0x79, 64);

// vCPU ioctls.
export const KVM_RUN = io(KVMIO, 0x80);
/** `struct kvm_regs` is 18 x __u64 = 144 bytes. */
export const KVM_GET_REGS = ior(KVMIO, 0x81, 144);
export const KVM_SET_REGS = iow(KVMIO, 0x82, 144);
/** `struct kvm_sregs` is 312 bytes on x86_64. */
export const KVM_GET_SREGS = ior(KVMIO, 0x83, 312);
export const KVM_SET_SREGS = iow(KVMIO, 0x84, 312);
/** `_IOW(KVMIO, 0x89, struct kvm_msrs)`: nmsrs[4] pad[4] entries[] (index[4] reserved[4] data[8]) */
export const KVM_SET_MSRS = iow(KVMIO, 0x89, 8);
/** `struct kvm_fpu` is 416 bytes. */
export const KVM_SET_FPU = iow(KVMIO, 0x8d, 416);
/** `struct kvm_lapic_state` is the 1 KiB LAPIC register page. */
export const KVM_GET_LAPIC = ior(KVMIO, 0x8e, 0x400);
export const KVM_SET_LAPIC = iow(KVMIO, 0x8f, 0x400);
/** `_IOW(KVMIO, 0x90, struct kvm_cpuid2)`: nent[4] padding[4] entries[] */
export const KVM_SET_CPUID2 = iow(KVMIO, 0x90, 8);

/** Linux has returned 12 since 2.6.22; anything else is not a KVM we speak to. */
export const KVM_API_VERSION = 12;

/** Capabilities for KVM_CHECK_EXTENSION (a few; more arrive with the devices that need them). */
export const KvmCap = {
  IRQCHIP: 0,
  HLT: 1,
  USER_MEMORY: 3,
  SET_TSS_ADDR: 4,
  EXT_CPUID: 7,
  NR_VCPUS: 9,
  NR_MEMSLOTS: 10,
  PIT2: 33,
  IRQFD: 32,
  IOEVENTFD: 36,
  SET_IDENTITY_MAP_ADDR: 37,
  MAX_VCPUS: 66,
} as const;
export type KvmCap = (typeof KvmCap)[keyof typeof KvmCap];
