import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Kvm } from './kvm.js';
import { runProbeGuest } from './probe.js';
import { Vm } from './vm.js';

const hasKvm = process.platform === 'linux' && existsSync('/dev/kvm');

describe.skipIf(!hasKvm)('Vm and Vcpu on /dev/kvm', () => {
  it('runs a real-mode guest that writes to a port and halts', () => {
    const r = runProbeGuest({ a: 4, b: 3 });
    expect(r.output).toBe('7\n');
    expect(r.exits).toBe(3);
  });

  it('gives JavaScript the guest RAM without copies and refuses ranges outside it', () => {
    const kvm = Kvm.open();
    const vm = Vm.create(kvm);
    try {
      const mem = vm.addMemory([{ gpa: 0, size: 0x4000 }, { gpa: 0x100000, size: 0x1000 }]);
      expect(mem.size).toBe(0x5000);
      mem.slice(0x100000, 4).set([1, 2, 3, 4]);
      expect([...mem.slice(0x100002, 2)]).toEqual([3, 4]);
      expect(mem.view(0x3fff, 2)).toBeUndefined(); // crosses the end of region 0
      expect(mem.view(0x101000, 1)).toBeUndefined();
      expect(() => mem.slice(-1, 1)).toThrow(/outside guest memory/);
      expect(() => vm.addMemory([{ gpa: 0x123, size: 0x1000 }])).toThrow(/not page aligned/);
    } finally {
      vm.close();
      kvm.close();
    }
  });
});
