/**
 * `Kvm`: the /dev/kvm system handle, the root of `Kvm -> Vm -> Vcpu` (rust-vmm kvm-ioctls).
 */
import { HyperkitError } from '../errors.js';
import { close, ioctl, O_CLOEXEC, O_RDWR, open } from '../ffi/libc.js';
import { CPUID_ENTRY_SIZE, CPUID_MAX_ENTRIES, decodeCpuid2, type CpuidEntry } from '../arch/x86_64/cpuid.js';
import { ioctlBuffer } from '../ffi/libc.js';
import {
  KVM_API_VERSION,
  KVM_CHECK_EXTENSION,
  KVM_GET_API_VERSION,
  KVM_GET_SUPPORTED_CPUID,
  KVM_GET_VCPU_MMAP_SIZE,
  KvmCap,
} from './ioctls.js';

export interface KvmOpenOptions {
  /** Device path; `/dev/kvm` unless given. */
  path?: string;
}

export class Kvm {
  #fd: number;
  readonly path: string;

  private constructor(fd: number, path: string) {
    this.#fd = fd;
    this.path = path;
  }

  /**
   * Opens the KVM device and checks its API version.
   *
   * @example
   * const kvm = Kvm.open();
   * console.log(kvm.apiVersion(), kvm.checkExtension(KvmCap.MAX_VCPUS));
   * kvm.close();
   */
  static open({ path = '/dev/kvm' }: KvmOpenOptions = {}): Kvm {
    const fd = open(path, O_RDWR | O_CLOEXEC);
    const kvm = new Kvm(fd, path);
    const version = kvm.apiVersion();
    if (version !== KVM_API_VERSION) {
      kvm.close();
      throw new HyperkitError('KVM_API_VERSION', `${path} speaks KVM API ${version}, expected ${KVM_API_VERSION}`, {
        version,
      });
    }
    return kvm;
  }

  get fd(): number {
    if (this.#fd < 0) throw new HyperkitError('CLOSED', `${this.path} is closed`);
    return this.#fd;
  }

  apiVersion(): number {
    return ioctl(this.fd, KVM_GET_API_VERSION, 0, 'KVM_GET_API_VERSION');
  }

  /** 0 when the capability is absent, a positive (often capability-specific) value otherwise. */
  checkExtension(cap: KvmCap): number {
    return ioctl(this.fd, KVM_CHECK_EXTENSION, cap, 'KVM_CHECK_EXTENSION');
  }

  /** Size of the shared `struct kvm_run` area each vCPU fd maps. */
  vcpuMmapSize(): number {
    return ioctl(this.fd, KVM_GET_VCPU_MMAP_SIZE, 0, 'KVM_GET_VCPU_MMAP_SIZE');
  }

  /** The CPUID leaves KVM can present to a guest on this host (x86). */
  supportedCpuid(): CpuidEntry[] {
    const buf = new Uint8Array(8 + CPUID_MAX_ENTRIES * CPUID_ENTRY_SIZE);
    new DataView(buf.buffer).setUint32(0, CPUID_MAX_ENTRIES, true);
    ioctlBuffer(this.fd, KVM_GET_SUPPORTED_CPUID, buf, 'KVM_GET_SUPPORTED_CPUID');
    return decodeCpuid2(buf);
  }

  /** Recommended and maximum vCPU counts (KVM_CAP_NR_VCPUS / KVM_CAP_MAX_VCPUS). */
  vcpuLimits(): { recommended: number; max: number } {
    const recommended = this.checkExtension(KvmCap.NR_VCPUS) || 4;
    const max = this.checkExtension(KvmCap.MAX_VCPUS) || recommended;
    return { recommended, max };
  }

  close(): void {
    if (this.#fd >= 0) {
      const fd = this.#fd;
      this.#fd = -1;
      close(fd);
    }
  }
}
