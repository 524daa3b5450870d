import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SyscallError } from '../errors.js';
import { Kvm } from './kvm.js';
import { KvmCap } from './ioctls.js';

const hasKvm = process.platform === 'linux' && existsSync('/dev/kvm');
if (!hasKvm) console.log('skipping /dev/kvm tests: no /dev/kvm on this machine');

describe.skipIf(!hasKvm)('Kvm on /dev/kvm', () => {
  it('opens the device, reports API 12 and the capabilities a VMM needs', () => {
    const kvm = Kvm.open();
    try {
      expect(kvm.apiVersion()).toBe(12);
      expect(kvm.checkExtension(KvmCap.USER_MEMORY)).toBeGreaterThan(0);
      expect(kvm.vcpuMmapSize()).toBeGreaterThanOrEqual(4096);
      const { recommended, max } = kvm.vcpuLimits();
      expect(recommended).toBeGreaterThan(0);
      expect(max).toBeGreaterThanOrEqual(recommended);
    } finally {
      kvm.close();
    }
  });

  it('refuses to use a handle after close', () => {
    const kvm = Kvm.open();
    kvm.close();
    expect(() => kvm.apiVersion()).toThrow(/closed/);
    kvm.close(); // idempotent
  });
});

describe.skipIf(process.platform !== 'linux')('FFI errors', () => {
  it('turn errno into a typed error named after it', () => {
    let err: unknown;
    try {
      Kvm.open({ path: '/nonexistent/kvm' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SyscallError);
    expect((err as SyscallError).code).toBe('ENOENT');
    expect((err as SyscallError).syscall).toBe('open');
    expect((err as SyscallError).message).toContain('/nonexistent/kvm');
  });

  it('report ENOTTY when a KVM ioctl hits a file that is not KVM', () => {
    // /dev/null accepts open(O_RDWR) but not KVM_GET_API_VERSION.
    expect(() => Kvm.open({ path: '/dev/null' })).toThrow(expect.objectContaining({ code: 'ENOTTY' }));
  });
});
