import { describe, expect, it } from 'vitest';
import { io, ioc, ior, iow, iowr } from './ioctl.js';
import * as k from '../kvm/ioctls.js';

describe('ioctl numbers', () => {
  it('match the values Linux computes for kvm.h (from strace / the kernel headers)', () => {
    expect(k.KVM_GET_API_VERSION).toBe(0xae00);
    expect(k.KVM_CREATE_VM).toBe(0xae01);
    expect(k.KVM_CHECK_EXTENSION).toBe(0xae03);
    expect(k.KVM_GET_VCPU_MMAP_SIZE).toBe(0xae04);
    expect(k.KVM_GET_SUPPORTED_CPUID).toBe(0xc008ae05);
    expect(k.KVM_CREATE_VCPU).toBe(0xae41);
    expect(k.KVM_SET_USER_MEMORY_REGION).toBe(0x4020ae46);
    expect(k.KVM_SET_TSS_ADDR).toBe(0xae47);
    expect(k.KVM_SET_IDENTITY_MAP_ADDR).toBe(0x4008ae48);
    expect(k.KVM_CREATE_IRQCHIP).toBe(0xae60);
    expect(k.KVM_RUN).toBe(0xae80);
    expect(k.KVM_GET_REGS).toBe(0x8090ae81);
    expect(k.KVM_SET_REGS).toBe(0x4090ae82);
    expect(k.KVM_GET_SREGS).toBe(0x8138ae83);
    expect(k.KVM_SET_SREGS).toBe(0x4138ae84);
  });

  it('encodes direction, size, type and nr in their bit fields', () => {
    expect(io(0x54, 0x1b)).toBe(0x541b); // TIOCINQ-style _IO
    expect(ior(0x54, 0xd0, 4)).toBe(0x800454d0);
    expect(iow(0x54, 0xca, 4)).toBe(0x400454ca); // TUNSETIFF
    expect(iowr(0xae, 0x05, 8) >>> 30).toBe(3);
  });

  it('rejects sizes that do not fit the 14-bit field', () => {
    expect(() => ioc(1, 0xae, 0, 1 << 14)).toThrow(RangeError);
    expect(() => ioc(1, 0x100, 0, 0)).toThrow(RangeError);
  });
});
