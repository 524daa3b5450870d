/**
 * `Vm`: a KVM virtual machine (the fd KVM_CREATE_VM returns): its guest memory and its
 * vCPUs. Guest RAM is mapped once, anonymously, and registered with
 * KVM_SET_USER_MEMORY_REGION; JavaScript sees it as zero-copy views (`GuestMemory`).
 */
import { HyperkitError } from '../errors.js';
import {
  close,
  ioctl,
  ioctlBuffer,
  MAP_ANONYMOUS,
  MAP_NORESERVE,
  MAP_PRIVATE,
  mmap,
  PROT_READ,
  PROT_WRITE,
  type Mapping,
} from '../ffi/libc.js';
import { GuestMemory } from '../memory/guest-memory.js';
import {
  KVM_CREATE_IRQCHIP,
  KVM_CREATE_PIT2,
  KVM_IRQ_LINE,
  KVM_SIGNAL_MSI,
  KVM_CREATE_VCPU,
  KVM_CREATE_VM,
  KVM_SET_IDENTITY_MAP_ADDR,
  KVM_SET_TSS_ADDR,
  KVM_SET_USER_MEMORY_REGION,
} from './ioctls.js';
import type { Kvm } from './kvm.js';
import { encodeMemoryRegion } from './structs.js';
import { Vcpu } from './vcpu.js';

const PAGE = 4096;
/** Bounds on what a caller may ask for: a VM is one process's worth of memory. */
const MAX_REGIONS = 32;

export interface MemoryRegionSpec {
  /** Guest physical address; page aligned. */
  gpa: number;
  /** Bytes; a non-zero multiple of the page size. */
  size: number;
}

export class Vm {
  readonly #kvm: Kvm;
  #fd: number;
  readonly #mappings: Mapping[] = [];
  readonly #vcpus: Vcpu[] = [];
  #memory = new GuestMemory([]);

  private constructor(kvm: Kvm, fd: number) {
    this.#kvm = kvm;
    this.#fd = fd;
  }

  /** KVM_CREATE_VM on an open `Kvm`. */
  static create(kvm: Kvm): Vm {
    return new Vm(kvm, ioctl(kvm.fd, KVM_CREATE_VM, 0, 'KVM_CREATE_VM'));
  }

  get fd(): number {
    if (this.#fd < 0) throw new HyperkitError('CLOSED', 'the VM is closed');
    return this.#fd;
  }

  get memory(): GuestMemory {
    return this.#memory;
  }

  /** Maps and registers guest RAM regions (each gets its own KVM memory slot). */
  addMemory(specs: readonly MemoryRegionSpec[]): GuestMemory {
    if (this.#mappings.length + specs.length > MAX_REGIONS) {
      throw new HyperkitError('MEMORY_REGIONS', `at most ${MAX_REGIONS} memory regions`);
    }
    const regions = [...this.#memory.regions];
    for (const { gpa, size } of specs) {
      if (!Number.isSafeInteger(gpa) || gpa < 0 || gpa % PAGE || !Number.isSafeInteger(size) || size <= 0 || size % PAGE) {
        throw new HyperkitError('MEMORY_REGION', `memory region 0x${gpa.toString(16)}+0x${size.toString(16)} is not page aligned`);
      }
      const m = mmap(size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
      this.#mappings.push(m);
      const slot = this.#mappings.length - 1;
      ioctlBuffer(
        this.fd,
        KVM_SET_USER_MEMORY_REGION,
        encodeMemoryRegion({ slot, flags: 0, guestPhysAddr: BigInt(gpa), memorySize: BigInt(size), userspaceAddr: m.address }),
        'KVM_SET_USER_MEMORY_REGION',
      );
      regions.push({ gpa, hostAddress: m.address, bytes: new Uint8Array(m.buffer) });
    }
    this.#memory = new GuestMemory(regions);
    return this.#memory;
  }

  /** Where KVM may put the three pages of the TSS Intel VMX needs (below 4 GiB, outside RAM). */
  setTssAddr(addr: number): void {
    ioctl(this.fd, KVM_SET_TSS_ADDR, addr, 'KVM_SET_TSS_ADDR');
  }

  /**
   * The page KVM uses as an identity-mapped page table for real-mode guests on Intel VMX
   * without unrestricted guest (KVM_SET_IDENTITY_MAP_ADDR; before any vCPU exists). Placed
   * explicitly so that it never lands on RAM or on a device, as Firecracker does.
   */
  setIdentityMapAddr(addr: number): void {
    const cell = new Uint8Array(new BigUint64Array([BigInt(addr)]).buffer);
    ioctlBuffer(this.fd, KVM_SET_IDENTITY_MAP_ADDR, cell, 'KVM_SET_IDENTITY_MAP_ADDR');
  }

  /** In-kernel PIC, IOAPIC and per-vCPU LAPICs. */
  createIrqchip(): void {
    ioctl(this.fd, KVM_CREATE_IRQCHIP, 0, 'KVM_CREATE_IRQCHIP');
  }

  /** The in-kernel i8254 PIT (after `createIrqchip`). */
  createPit2(): void {
    ioctlBuffer(this.fd, KVM_CREATE_PIT2, new Uint8Array(64), 'KVM_CREATE_PIT2');
  }

  /** Drives interrupt line `irq` of the in-kernel PIC/IOAPIC. */
  setIrqLine(irq: number, level: boolean): void {
    const buf = new Uint8Array(8);
    const dv = new DataView(buf.buffer);
    dv.setUint32(0, irq, true);
    dv.setUint32(4, level ? 1 : 0, true);
    ioctlBuffer(this.fd, KVM_IRQ_LINE, buf, 'KVM_IRQ_LINE');
  }

  /** Inject a message-signalled interrupt (MSI/MSI-X) into the in-kernel LAPICs. */
  signalMsi(addressLo: number, addressHi: number, data: number): void {
    const buf = new Uint8Array(32);
    const dv = new DataView(buf.buffer);
    dv.setUint32(0, addressLo >>> 0, true);
    dv.setUint32(4, addressHi >>> 0, true);
    dv.setUint32(8, data >>> 0, true);
    ioctlBuffer(this.fd, KVM_SIGNAL_MSI, buf, 'KVM_SIGNAL_MSI');
  }

  /** An edge on `irq`: raise, then lower (ISA devices such as the UART). */
  pulseIrq(irq: number): void {
    this.setIrqLine(irq, true);
    this.setIrqLine(irq, false);
  }

  createVcpu(id = this.#vcpus.length): Vcpu {
    const fd = ioctl(this.fd, KVM_CREATE_VCPU, id, 'KVM_CREATE_VCPU');
    const vcpu = new Vcpu(id, fd, this.#kvm.vcpuMmapSize());
    this.#vcpus.push(vcpu);
    return vcpu;
  }

  /** @internal Takes ownership of a vCPU created on its own thread (see `VcpuThread`). */
  adoptVcpu(vcpu: Vcpu): void {
    this.#vcpus.push(vcpu);
  }

  close(): void {
    if (this.#fd < 0) return;
    for (const v of this.#vcpus) v.close();
    const fd = this.#fd;
    this.#fd = -1;
    close(fd);
    this.#memory = new GuestMemory([]);
    for (const m of this.#mappings) m.unmap();
  }
}
