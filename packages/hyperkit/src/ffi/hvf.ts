/**
 * Hypervisor.framework declared through koffi: the macOS twin of `libc.ts`. The x86_64
 * API (macOS 10.10+, Intel Macs), from <Hypervisor/hv.h>, hv_vmx.h and hv_error.h:
 *
 *   hv_return_t hv_vm_create(hv_vm_options_t flags);                      // uint64_t
 *   hv_return_t hv_vm_destroy(void);
 *   hv_return_t hv_vm_map(hv_uvaddr_t uva, hv_gpaddr_t gpa, size_t size, hv_memory_flags_t flags);
 *   hv_return_t hv_vm_unmap(hv_gpaddr_t gpa, size_t size);
 *   hv_return_t hv_vm_protect(hv_gpaddr_t gpa, size_t size, hv_memory_flags_t flags);
 *   hv_return_t hv_vcpu_create(hv_vcpuid_t *vcpu, hv_vcpu_options_t flags); // unsigned int *
 *   hv_return_t hv_vcpu_destroy(hv_vcpuid_t vcpu);
 *   hv_return_t hv_vcpu_run(hv_vcpuid_t vcpu);
 *   hv_return_t hv_vcpu_interrupt(hv_vcpuid_t *vcpus, unsigned int vcpu_count);
 *   hv_return_t hv_vcpu_read_register(hv_vcpuid_t vcpu, hv_x86_reg_t reg, uint64_t *value);
 *   hv_return_t hv_vcpu_write_register(hv_vcpuid_t vcpu, hv_x86_reg_t reg, uint64_t value);
 *   hv_return_t hv_vcpu_read_fpstate(hv_vcpuid_t vcpu, void *buffer, size_t size);
 *   hv_return_t hv_vcpu_write_fpstate(hv_vcpuid_t vcpu, void *buffer, size_t size);
 *   hv_return_t hv_vcpu_enable_native_msr(hv_vcpuid_t vcpu, uint32_t msr, bool enable);
 *   hv_return_t hv_vcpu_read_msr(hv_vcpuid_t vcpu, uint32_t msr, uint64_t *value);
 *   hv_return_t hv_vcpu_write_msr(hv_vcpuid_t vcpu, uint32_t msr, uint64_t value);
 *   hv_return_t hv_vcpu_invalidate_tlb(hv_vcpuid_t vcpu);
 *   hv_return_t hv_vmx_vcpu_read_vmcs(hv_vcpuid_t vcpu, uint32_t field, uint64_t *value);
 *   hv_return_t hv_vmx_vcpu_write_vmcs(hv_vcpuid_t vcpu, uint32_t field, uint64_t value);
 *   hv_return_t hv_vmx_read_capability(hv_vmx_capability_t field, uint64_t *value);
 *
 *   hv_return_t is a mach_error_t: err_local | err_sub(0xba5) | code, i.e. 0xfae94000 | code.
 *
 * The arm64 API (Apple silicon) is a different set of functions: see `HvfArm64Api`.
 *
 * Nothing here runs at import: koffi itself is required (not imported) the first time a
 * function is called, and only on darwin/x64, so importing this module on Linux touches
 * neither koffi nor the framework. Every vCPU call must come from the thread that created
 * the vCPU (HVF binds a vCPU to its creating thread); one VM per process.
 */
import { createRequire } from 'node:module';
import type koffiModule from 'koffi';
import { HyperkitError } from '../errors.js';

type Koffi = typeof koffiModule;

export const HYPERVISOR_FRAMEWORK = '/System/Library/Frameworks/Hypervisor.framework/Hypervisor';
const LIBSYSTEM = '/usr/lib/libSystem.B.dylib';

/** hv_return_t values (hv_error.h). HV_ILLEGAL_GUEST_STATE and HV_FAULT appear on arm64 only. */
export const HV_RETURN = {
  HV_SUCCESS: 0,
  HV_ERROR: 0xfae94001,
  HV_BUSY: 0xfae94002,
  HV_BAD_ARGUMENT: 0xfae94003,
  HV_ILLEGAL_GUEST_STATE: 0xfae94004,
  HV_NO_RESOURCES: 0xfae94005,
  HV_NO_DEVICE: 0xfae94006,
  HV_DENIED: 0xfae94007,
  HV_FAULT: 0xfae94008,
  HV_UNSUPPORTED: 0xfae9400f,
} as const;
export type HvReturnName = keyof typeof HV_RETURN | 'HV_UNKNOWN';

const NAMES = new Map<number, HvReturnName>(
  Object.entries(HV_RETURN).map(([name, value]) => [value, name as keyof typeof HV_RETURN]),
);

/** The name of an hv_return_t (negative int32 or unsigned, as a C caller might see it). */
export function hvReturnName(ret: number): HvReturnName {
  return NAMES.get(ret >>> 0) ?? 'HV_UNKNOWN';
}

/** A failed Hypervisor.framework call. `code` is the hv_return_t name (`HV_BUSY`, ...). */
export class HvfError extends HyperkitError {
  /** The hv_return_t, unsigned (0xfae94003 for HV_BAD_ARGUMENT). */
  readonly ret: number;
  /** The framework function that failed (`hv_vm_map`). */
  readonly fn: string;

  constructor(fn: string, ret: number, detail?: string) {
    const name = hvReturnName(ret);
    super(name, `${fn}${detail ? ` (${detail})` : ''} failed: ${name} (0x${(ret >>> 0).toString(16)})`, { fn, ret: ret >>> 0 });
    this.ret = ret >>> 0;
    this.fn = fn;
  }
}

/** Throws an `HvfError` unless `ret` is HV_SUCCESS. */
export function checkHv(fn: string, ret: number, detail?: string): void {
  if (ret !== HV_RETURN.HV_SUCCESS) throw new HvfError(fn, ret, detail);
}

/** hv_memory_flags_t */
export const HV_MEMORY_READ = 1n << 0n;
export const HV_MEMORY_WRITE = 1n << 1n;
export const HV_MEMORY_EXEC = 1n << 2n;

/** hv_vmx_capability_t */
export const HV_VMX_CAP = {
  PINBASED: 0,
  PROCBASED: 1,
  PROCBASED2: 2,
  ENTRY: 3,
  EXIT: 4,
  PREEMPTION_TIMER: 32,
} as const;

/** Host memory for guest RAM: page aligned (hv_vm_map requires it), seen as one ArrayBuffer. */
export interface HostMemory {
  readonly address: bigint;
  readonly length: number;
  /** Zero-copy view of the mapping; valid until `free()`. */
  readonly buffer: ArrayBuffer;
  free(): void;
}

/**
 * The x86_64 Hypervisor.framework calls, as the backend above uses them. `hypervisor()`
 * returns the real one; tests pass their own (vpnkit's "host as an argument").
 * Every method throws `HvfError` on a non-success return.
 */
export interface HvfApi {
  vmCreate(): void;
  vmDestroy(): void;
  vmMap(uva: bigint, gpa: bigint, size: number, flags: bigint): void;
  vmUnmap(gpa: bigint, size: number): void;
  vmProtect(gpa: bigint, size: number, flags: bigint): void;
  /** hv_vcpu_create on the calling thread; returns the hv_vcpuid_t. */
  vcpuCreate(): number;
  vcpuDestroy(vcpu: number): void;
  vcpuRun(vcpu: number): void;
  /** Forces the listed vCPUs (running on other threads) out of hv_vcpu_run. */
  vcpuInterrupt(vcpus: readonly number[]): void;
  readRegister(vcpu: number, reg: number): bigint;
  writeRegister(vcpu: number, reg: number, value: bigint): void;
  readVmcs(vcpu: number, field: number): bigint;
  writeVmcs(vcpu: number, field: number, value: bigint): void;
  readCapability(cap: number): bigint;
  enableNativeMsr(vcpu: number, msr: number, enable: boolean): void;
  readMsr(vcpu: number, msr: number): bigint;
  writeMsr(vcpu: number, msr: number, value: bigint): void;
  /** XSAVE-format FPU/SIMD state; `buf.length` is the size passed to the framework. */
  readFpstate(vcpu: number, buf: Uint8Array): void;
  writeFpstate(vcpu: number, buf: Uint8Array): void;
  invalidateTlb(vcpu: number): void;
  /** Page-aligned anonymous memory for guest RAM (mmap). */
  allocate(length: number): HostMemory;
}

type Ret = (...args: unknown[]) => number;
interface Loaded {
  koffi: Koffi;
  framework: ReturnType<Koffi['load']>;
  mmap: (addr: null, len: number, prot: number, flags: number, fd: number, off: number) => unknown;
  munmap: (addr: unknown, len: number) => number;
}

let loaded: Loaded | undefined;
let api: HvfApi | undefined;
let arm64Api: HvfArm64Api | undefined;

/** Whether koffi and the framework have been loaded in this process (tests check they are not on Linux). */
export function hypervisorLoaded(): boolean {
  return loaded !== undefined;
}

/** Why the `arch` flavour of the framework cannot be used here, or undefined where it may. */
export function hypervisorUnavailableReason(
  platform: string = process.platform,
  arch: string = process.arch,
  flavour: 'x64' | 'arm64' = 'x64',
): string | undefined {
  if (platform !== 'darwin') return `Hypervisor.framework is macOS only; this is ${platform}`;
  if (arch !== flavour) {
    return `the ${flavour === 'x64' ? 'x86_64 (VMX)' : 'arm64'} Hypervisor.framework API is not available on darwin/${arch}`;
  }
  return undefined;
}

function load(flavour: 'x64' | 'arm64'): Loaded {
  const why = hypervisorUnavailableReason(process.platform, process.arch, flavour);
  if (why) throw new HyperkitError('HVF_UNAVAILABLE', why);
  if (loaded) return loaded;
  // Required here, not imported at the top: loading this module must not load koffi.
  const koffi = createRequire(import.meta.url)('koffi') as Koffi;
  const framework = koffi.load(HYPERVISOR_FRAMEWORK);
  const sys = koffi.load(LIBSYSTEM);
  loaded = {
    koffi,
    framework,
    mmap: sys.func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, int64_t off)') as Loaded['mmap'],
    munmap: sys.func('int munmap(void *addr, size_t len)') as Loaded['munmap'],
  };
  return loaded;
}

function declare(l: Loaded, decl: Record<string, string>): (fn: string, ...args: unknown[]) => void {
  const fns = new Map<string, Ret>();
  for (const [name, proto] of Object.entries(decl)) fns.set(name, l.framework.func(proto) as Ret);
  return (fn, ...args) => {
    const f = fns.get(fn);
    if (!f) throw new HyperkitError('HVF_UNAVAILABLE', `${fn} is not declared`);
    checkHv(fn, f(...args));
  };
}

// darwin <sys/mman.h>
const PROT_READ = 0x1;
const PROT_WRITE = 0x2;
const MAP_PRIVATE = 0x2;
const MAP_ANON = 0x1000;
const MAP_FAILED = 0xffffffffffffffffn;

function allocator(l: Loaded, page: number): (length: number) => HostMemory {
  return (length) => {
    if (!Number.isSafeInteger(length) || length <= 0 || length % page) {
      throw new RangeError(`guest RAM of ${length} bytes is not a positive multiple of ${page}`);
    }
    const ptr = l.mmap(null, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANON, -1, 0);
    const address = l.koffi.address(ptr);
    if (address === MAP_FAILED || address === 0n) {
      throw new HyperkitError('ENOMEM', `mmap of ${length} bytes for guest RAM failed (errno ${l.koffi.errno()})`);
    }
    // The view spans exactly the `length` bytes just mapped.
    const buffer = l.koffi.view(ptr, length);
    let mapped = true;
    return {
      address,
      length,
      buffer,
      free() {
        if (!mapped) return;
        mapped = false;
        l.munmap(ptr, length);
      },
    };
  };
}

/**
 * The real x86_64 Hypervisor.framework, loaded on first use. Throws
 * `HyperkitError('HVF_UNAVAILABLE')` off darwin/x64, and koffi's own error if the framework
 * cannot be opened.
 */
export function hypervisor(): HvfApi {
  if (api) return api;
  const l = load('x64');
  const call = declare(l, {
    hv_vm_create: 'int hv_vm_create(uint64_t flags)',
    hv_vm_destroy: 'int hv_vm_destroy()',
    hv_vm_map: 'int hv_vm_map(uintptr_t uva, uint64_t gpa, size_t size, uint64_t flags)',
    hv_vm_unmap: 'int hv_vm_unmap(uint64_t gpa, size_t size)',
    hv_vm_protect: 'int hv_vm_protect(uint64_t gpa, size_t size, uint64_t flags)',
    hv_vcpu_create: 'int hv_vcpu_create(void *vcpu, uint64_t flags)',
    hv_vcpu_destroy: 'int hv_vcpu_destroy(uint32_t vcpu)',
    hv_vcpu_run: 'int hv_vcpu_run(uint32_t vcpu)',
    hv_vcpu_interrupt: 'int hv_vcpu_interrupt(void *vcpus, uint32_t count)',
    hv_vcpu_read_register: 'int hv_vcpu_read_register(uint32_t vcpu, uint32_t reg, void *value)',
    hv_vcpu_write_register: 'int hv_vcpu_write_register(uint32_t vcpu, uint32_t reg, uint64_t value)',
    hv_vcpu_read_fpstate: 'int hv_vcpu_read_fpstate(uint32_t vcpu, void *buffer, size_t size)',
    hv_vcpu_write_fpstate: 'int hv_vcpu_write_fpstate(uint32_t vcpu, void *buffer, size_t size)',
    hv_vcpu_enable_native_msr: 'int hv_vcpu_enable_native_msr(uint32_t vcpu, uint32_t msr, bool enable)',
    hv_vcpu_read_msr: 'int hv_vcpu_read_msr(uint32_t vcpu, uint32_t msr, void *value)',
    hv_vcpu_write_msr: 'int hv_vcpu_write_msr(uint32_t vcpu, uint32_t msr, uint64_t value)',
    hv_vcpu_invalidate_tlb: 'int hv_vcpu_invalidate_tlb(uint32_t vcpu)',
    hv_vmx_vcpu_read_vmcs: 'int hv_vmx_vcpu_read_vmcs(uint32_t vcpu, uint32_t field, void *value)',
    hv_vmx_vcpu_write_vmcs: 'int hv_vmx_vcpu_write_vmcs(uint32_t vcpu, uint32_t field, uint64_t value)',
    hv_vmx_read_capability: 'int hv_vmx_read_capability(uint32_t field, void *value)',
  });
  // One 8-byte cell for every uint64_t/hv_vcpuid_t out-parameter: the framework writes
  // at most 8 bytes through it (4 for hv_vcpuid_t).
  const cell = new BigUint64Array(1);
  const out64 = (fn: string, ...args: unknown[]): bigint => {
    cell[0] = 0n;
    call(fn, ...args, cell);
    return cell[0] ?? 0n;
  };
  api = {
    vmCreate: () => call('hv_vm_create', 0n),
    vmDestroy: () => call('hv_vm_destroy'),
    vmMap: (uva, gpa, size, flags) => call('hv_vm_map', uva, gpa, size, flags),
    vmUnmap: (gpa, size) => call('hv_vm_unmap', gpa, size),
    vmProtect: (gpa, size, flags) => call('hv_vm_protect', gpa, size, flags),
    vcpuCreate: () => {
      // hv_vcpu_create(&vcpu, HV_VCPU_DEFAULT): the out-parameter comes first.
      cell[0] = 0n;
      call('hv_vcpu_create', cell, 0n);
      return Number((cell[0] ?? 0n) & 0xffff_ffffn);
    },
    vcpuDestroy: (vcpu) => call('hv_vcpu_destroy', vcpu),
    vcpuRun: (vcpu) => call('hv_vcpu_run', vcpu),
    vcpuInterrupt: (vcpus) => call('hv_vcpu_interrupt', Uint32Array.from(vcpus), vcpus.length),
    readRegister: (vcpu, reg) => out64('hv_vcpu_read_register', vcpu, reg),
    writeRegister: (vcpu, reg, value) => call('hv_vcpu_write_register', vcpu, reg, BigInt.asUintN(64, value)),
    readVmcs: (vcpu, field) => out64('hv_vmx_vcpu_read_vmcs', vcpu, field),
    writeVmcs: (vcpu, field, value) => call('hv_vmx_vcpu_write_vmcs', vcpu, field, BigInt.asUintN(64, value)),
    readCapability: (cap) => out64('hv_vmx_read_capability', cap),
    enableNativeMsr: (vcpu, msr, enable) => call('hv_vcpu_enable_native_msr', vcpu, msr, enable),
    readMsr: (vcpu, msr) => out64('hv_vcpu_read_msr', vcpu, msr),
    writeMsr: (vcpu, msr, value) => call('hv_vcpu_write_msr', vcpu, msr, BigInt.asUintN(64, value)),
    // The framework reads/writes exactly buf.length bytes, the size passed with it.
    readFpstate: (vcpu, buf) => call('hv_vcpu_read_fpstate', vcpu, buf, buf.length),
    writeFpstate: (vcpu, buf) => call('hv_vcpu_write_fpstate', vcpu, buf, buf.length),
    invalidateTlb: (vcpu) => call('hv_vcpu_invalidate_tlb', vcpu),
    allocate: allocator(l, 4096),
  };
  return api;
}

/**
 * The arm64 (Apple silicon, macOS 11+) framework, from <Hypervisor/hv_vm.h>, hv_vcpu.h and
 * hv_vcpu_types.h:
 *
 *   hv_return_t hv_vm_create(hv_vm_config_t config);              // NULL: defaults
 *   hv_return_t hv_vm_map(void *addr, hv_ipa_t ipa, size_t size, hv_memory_flags_t flags);
 *   hv_return_t hv_vcpu_create(hv_vcpu_t *vcpu, hv_vcpu_exit_t **exit, hv_vcpu_config_t config);
 *   hv_return_t hv_vcpu_run(hv_vcpu_t vcpu);                       // hv_vcpu_t: uint64_t
 *   hv_return_t hv_vcpus_exit(hv_vcpu_t *vcpus, uint32_t vcpu_count);
 *   hv_return_t hv_vcpu_get_reg(hv_vcpu_t vcpu, hv_reg_t reg, uint64_t *value);
 *   hv_return_t hv_vcpu_get_sys_reg(hv_vcpu_t vcpu, hv_sys_reg_t reg, uint64_t *value);
 *   hv_return_t hv_vcpu_set_pending_interrupt(hv_vcpu_t vcpu, hv_interrupt_type_t type, bool pending);
 *   hv_return_t hv_vcpu_set_vtimer_mask(hv_vcpu_t vcpu, bool vtimer_is_masked);
 *
 *   typedef struct { hv_exit_reason_t reason;                       // uint32_t, offset 0
 *                    struct { uint64_t syndrome;                    // ESR_EL2, offset 8
 *                             uint64_t virtual_address;             // FAR_EL2, offset 16
 *                             hv_ipa_t physical_address; } exception; // offset 24
 *                  } hv_vcpu_exit_t;                                 // 32 bytes
 */
export interface HvfArm64Api {
  vmCreate(): void;
  vmDestroy(): void;
  vmMap(uva: bigint, ipa: bigint, size: number, flags: bigint): void;
  vmUnmap(ipa: bigint, size: number): void;
  /** hv_vcpu_create on the calling thread: the vCPU and a view of the framework's exit record for it. */
  vcpuCreate(): { vcpu: bigint; exit: DataView };
  vcpuDestroy(vcpu: bigint): void;
  vcpuRun(vcpu: bigint): void;
  vcpusExit(vcpus: readonly bigint[]): void;
  getReg(vcpu: bigint, reg: number): bigint;
  setReg(vcpu: bigint, reg: number, value: bigint): void;
  getSysReg(vcpu: bigint, reg: number): bigint;
  setSysReg(vcpu: bigint, reg: number, value: bigint): void;
  /** type 0 IRQ, 1 FIQ. */
  setPendingInterrupt(vcpu: bigint, type: 0 | 1, pending: boolean): void;
  setVtimerMask(vcpu: bigint, masked: boolean): void;
  /** Guest RAM: a multiple of the 16 KiB host page. */
  allocate(length: number): HostMemory;
}

/** hv_vcpu_exit_t is 32 bytes (see above). */
export const HV_VCPU_EXIT_SIZE = 32;

/** The real arm64 framework, loaded on first use; `HVF_UNAVAILABLE` anywhere but darwin/arm64. */
export function hypervisorArm64(): HvfArm64Api {
  if (arm64Api) return arm64Api;
  const l = load('arm64');
  const call = declare(l, {
    hv_vm_create: 'int hv_vm_create(void *config)',
    hv_vm_destroy: 'int hv_vm_destroy()',
    hv_vm_map: 'int hv_vm_map(uintptr_t addr, uint64_t ipa, size_t size, uint64_t flags)',
    hv_vm_unmap: 'int hv_vm_unmap(uint64_t ipa, size_t size)',
    hv_vcpu_create: 'int hv_vcpu_create(void *vcpu, void *exit, void *config)',
    hv_vcpu_destroy: 'int hv_vcpu_destroy(uint64_t vcpu)',
    hv_vcpu_run: 'int hv_vcpu_run(uint64_t vcpu)',
    hv_vcpus_exit: 'int hv_vcpus_exit(void *vcpus, uint32_t count)',
    hv_vcpu_get_reg: 'int hv_vcpu_get_reg(uint64_t vcpu, uint32_t reg, void *value)',
    hv_vcpu_set_reg: 'int hv_vcpu_set_reg(uint64_t vcpu, uint32_t reg, uint64_t value)',
    hv_vcpu_get_sys_reg: 'int hv_vcpu_get_sys_reg(uint64_t vcpu, uint16_t reg, void *value)',
    hv_vcpu_set_sys_reg: 'int hv_vcpu_set_sys_reg(uint64_t vcpu, uint16_t reg, uint64_t value)',
    hv_vcpu_set_pending_interrupt: 'int hv_vcpu_set_pending_interrupt(uint64_t vcpu, uint32_t type, bool pending)',
    hv_vcpu_set_vtimer_mask: 'int hv_vcpu_set_vtimer_mask(uint64_t vcpu, bool masked)',
  });
  const cell = new BigUint64Array(1);
  const out64 = (fn: string, ...args: unknown[]): bigint => {
    cell[0] = 0n;
    call(fn, ...args, cell);
    return cell[0] ?? 0n;
  };
  arm64Api = {
    vmCreate: () => call('hv_vm_create', null),
    vmDestroy: () => call('hv_vm_destroy'),
    vmMap: (uva, ipa, size, flags) => call('hv_vm_map', uva, ipa, size, flags),
    vmUnmap: (ipa, size) => call('hv_vm_unmap', ipa, size),
    vcpuCreate: () => {
      const vcpu = new BigUint64Array(1);
      const exitPtr = new BigUint64Array(1);
      call('hv_vcpu_create', vcpu, exitPtr, null);
      // The framework owns the exit record for the vCPU's lifetime; the view spans exactly
      // the 32 bytes of hv_vcpu_exit_t at the address it returned.
      const ptr = l.koffi.decode(new Uint8Array(exitPtr.buffer), 'void *') as unknown;
      return { vcpu: vcpu[0] ?? 0n, exit: new DataView(l.koffi.view(ptr, HV_VCPU_EXIT_SIZE)) };
    },
    vcpuDestroy: (vcpu) => call('hv_vcpu_destroy', vcpu),
    vcpuRun: (vcpu) => call('hv_vcpu_run', vcpu),
    vcpusExit: (vcpus) => call('hv_vcpus_exit', BigUint64Array.from(vcpus), vcpus.length),
    getReg: (vcpu, reg) => out64('hv_vcpu_get_reg', vcpu, reg),
    setReg: (vcpu, reg, value) => call('hv_vcpu_set_reg', vcpu, reg, BigInt.asUintN(64, value)),
    getSysReg: (vcpu, reg) => out64('hv_vcpu_get_sys_reg', vcpu, reg),
    setSysReg: (vcpu, reg, value) => call('hv_vcpu_set_sys_reg', vcpu, reg, BigInt.asUintN(64, value)),
    setPendingInterrupt: (vcpu, type, pending) => call('hv_vcpu_set_pending_interrupt', vcpu, type, pending),
    setVtimerMask: (vcpu, masked) => call('hv_vcpu_set_vtimer_mask', vcpu, masked),
    allocate: allocator(l, 16384),
  };
  return arm64Api;
}
