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

// vCPU ioctls.
export const KVM_RUN = io(KVMIO, 0x80);
/** `struct kvm_regs` is 18 x __u64 = 144 bytes. */
export const KVM_GET_REGS = ior(KVMIO, 0x81, 144);
export const KVM_SET_REGS = iow(KVMIO, 0x82, 144);
/** `struct kvm_sregs` is 312 bytes on x86_64. */
export const KVM_GET_SREGS = ior(KVMIO, 0x83, 312);
export const KVM_SET_SREGS = iow(KVMIO, 0x84, 312);

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
