import { describe, expect, it } from 'vitest';
import { HyperkitError } from '../errors.js';
import {
  checkHv,
  HV_RETURN,
  HvfError,
  hvReturnName,
  hypervisor,
  hypervisorArm64,
  hypervisorLoaded,
  hypervisorUnavailableReason,
} from './hvf.js';

/** Whether koffi's native addon is in this process (an ESM import of koffi would have loaded it). */
const koffiLoaded = (): boolean =>
  (process.report.getReport() as { sharedObjects: string[] }).sharedObjects.some((p) => /koffi[^/\\]*\.node$/.test(p));
const onIntelMac = process.platform === 'darwin' && process.arch === 'x64';
const onAppleSilicon = process.platform === 'darwin' && process.arch === 'arm64';

describe('hv_return_t', () => {
  it('names every documented code, in unsigned and in int32 form', () => {
    expect(hvReturnName(0)).toBe('HV_SUCCESS');
    expect(hvReturnName(0xfae94001)).toBe('HV_ERROR');
    expect(hvReturnName(0xfae94002)).toBe('HV_BUSY');
    expect(hvReturnName(0xfae94003)).toBe('HV_BAD_ARGUMENT');
    expect(hvReturnName(0xfae94005)).toBe('HV_NO_RESOURCES');
    expect(hvReturnName(0xfae94006)).toBe('HV_NO_DEVICE');
    expect(hvReturnName(0xfae94007)).toBe('HV_DENIED');
    expect(hvReturnName(0xfae9400f)).toBe('HV_UNSUPPORTED');
    // koffi returns a C `int` as a signed number
    expect(hvReturnName(0xfae94003 | 0)).toBe('HV_BAD_ARGUMENT');
    expect(hvReturnName(0xfae94099)).toBe('HV_UNKNOWN');
  });

  it('builds each code as err_local | err_sub(0xba5) | n (mach/error.h)', () => {
    const base = ((0x3e & 0x3f) << 26) | ((0xba5 & 0xfff) << 14); // err_system(0x3e) | err_sub(0xba5)
    expect(HV_RETURN.HV_ERROR).toBe((base | 0x01) >>> 0);
    expect(HV_RETURN.HV_UNSUPPORTED).toBe((base | 0x0f) >>> 0);
  });

  it('turns a failure into an HvfError with the code name, the function and the raw value', () => {
    expect(() => checkHv('hv_vm_map', 0)).not.toThrow();
    let err: unknown;
    try {
      checkHv('hv_vm_map', 0xfae94003 | 0, 'gpa 0x1000');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HvfError);
    expect(err).toBeInstanceOf(HyperkitError);
    const e = err as HvfError;
    expect(e.code).toBe('HV_BAD_ARGUMENT');
    expect(e.fn).toBe('hv_vm_map');
    expect(e.ret).toBe(0xfae94003);
    expect(e.data).toEqual({ fn: 'hv_vm_map', ret: 0xfae94003 });
    expect(e.message).toBe('hv_vm_map (gpa 0x1000) failed: HV_BAD_ARGUMENT (0xfae94003)');
  });
});

describe.skipIf(process.platform === 'darwin')('off macOS', () => {
  it('imports without loading koffi or the framework', () => {
    expect(hypervisorLoaded()).toBe(false);
    expect(koffiLoaded()).toBe(false);
  });

  it('refuses hypervisor() and hypervisorArm64() with HVF_UNAVAILABLE, still without loading koffi', () => {
    expect(() => hypervisor()).toThrowError(expect.objectContaining({ code: 'HVF_UNAVAILABLE' }) as Error);
    expect(() => hypervisorArm64()).toThrowError(expect.objectContaining({ code: 'HVF_UNAVAILABLE' }) as Error);
    expect(hypervisorLoaded()).toBe(false);
    expect(koffiLoaded()).toBe(false);
  });
});

describe('hypervisorUnavailableReason', () => {
  it('says why per platform and architecture', () => {
    expect(hypervisorUnavailableReason('linux', 'x64')).toMatch(/macOS only; this is linux/);
    expect(hypervisorUnavailableReason('darwin', 'arm64')).toMatch(/x86_64 \(VMX\) .* darwin\/arm64/);
    expect(hypervisorUnavailableReason('darwin', 'arm64', 'arm64')).toBeUndefined();
    expect(hypervisorUnavailableReason('darwin', 'x64', 'arm64')).toMatch(/arm64 .* darwin\/x64/);
    expect(hypervisorUnavailableReason('darwin', 'x64')).toBeUndefined();
  });
});

describe.skipIf(!onIntelMac)('Hypervisor.framework (Intel Mac)', () => {
  it('reads the VMX capabilities and creates and destroys a VM', () => {
    const hv = hypervisor();
    // Pin-based controls: bit 0 (external-interrupt exiting) must be allowed on any VT-x CPU.
    expect((hv.readCapability(0) >> 32n) & 1n).toBe(1n);
    hv.vmCreate();
    try {
      const mem = hv.allocate(0x10000);
      hv.vmMap(mem.address, 0n, mem.length, 3n);
      hv.vmUnmap(0n, mem.length);
      mem.free();
    } finally {
      hv.vmDestroy();
    }
  });
});

describe.skipIf(!onAppleSilicon)('Hypervisor.framework (Apple silicon)', () => {
  it('creates a VM, maps 16 KiB, creates and destroys a vCPU', () => {
    const hv = hypervisorArm64();
    hv.vmCreate();
    try {
      const mem = hv.allocate(0x4000);
      hv.vmMap(mem.address, 0x4000_0000n, mem.length, 7n);
      const { vcpu, exit } = hv.vcpuCreate();
      expect(exit.byteLength).toBe(32);
      hv.setReg(vcpu, 31, 0x4000_0000n); // HV_REG_PC
      expect(hv.getReg(vcpu, 31)).toBe(0x4000_0000n);
      hv.vcpuDestroy(vcpu);
      hv.vmUnmap(0x4000_0000n, mem.length);
      mem.free();
    } finally {
      hv.vmDestroy();
    }
  });
});
