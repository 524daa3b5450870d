import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../../memory/guest-memory.js';
import { PciRoot } from '../pci/root.js';
import { VirtioRng } from './rng/rng.js';
import { VIRTQ_DESC_F_WRITE } from './queue.js';
import { BAR_SIZE, VirtioPciTransport } from './pci.js';

/** Drive the transport the way Linux's virtio_pci_modern does, over plain guest memory. */
describe('virtio-pci modern transport with virtio-rng', () => {
  it('negotiates, sets up a queue with an MSI-X vector, serves a request and signals it', () => {
    const bytes = new Uint8Array(1 << 20);
    const mem = new GuestMemory([{ gpa: 0, hostAddress: 0n, bytes }]);
    const dv = new DataView(bytes.buffer);
    const msis: number[][] = [];
    const rng = new VirtioRng();
    const t = new VirtioPciTransport(rng, mem, { msi: (lo, hi, data) => msis.push([lo, hi, data]) });
    new PciRoot().add(1, t);
    const c = t.config;
    expect(c.read(0, 4)).toBe(0x10441af4);
    expect(c.barSize(0)).toBe(BAR_SIZE);
    // Walk the vendor capabilities to find cfg types 1..4.
    const types: number[] = [];
    for (let at = c.read(0x34, 1); at !== 0; at = c.read(at + 1, 1)) if (c.read(at, 1) === 0x09) types.push(c.read(at + 3, 1));
    expect(types.sort()).toEqual([1, 2, 3]);
    const w = (off: number, n: number, v: number): void => {
      const d = new Uint8Array(n);
      for (let i = 0; i < n; i++) d[i] = Math.floor(v / 256 ** i) & 0xff;
      t.write(off, d);
    };
    const r = (off: number, n: number): number => {
      const d = new Uint8Array(n);
      t.read(off, d);
      let v = 0;
      for (let i = n - 1; i >= 0; i--) v = v * 256 + (d[i] as number);
      return v;
    };
    w(20, 1, 0); // reset
    w(20, 1, 1 | 2); // ACKNOWLEDGE | DRIVER
    w(0, 4, 1);
    expect(r(4, 4) & 1).toBe(1); // VIRTIO_F_VERSION_1 (bit 32)
    w(8, 4, 1);
    w(12, 4, 1); // accept VERSION_1
    w(20, 1, 1 | 2 | 8); // FEATURES_OK
    expect(r(20, 1) & 8).toBe(8);
    expect(r(18, 2)).toBe(1); // one queue
    // MSI-X: enable, program vector 1 (the queue) and unmask.
    const msixAt = (() => {
      for (let at = c.read(0x34, 1); at !== 0; at = c.read(at + 1, 1)) if (c.read(at, 1) === 0x11) return at;
      return 0;
    })();
    c.write(msixAt + 3, 1, 0x80);
    w(0x3800 + 16, 4, 0xfee00000);
    w(0x3800 + 24, 4, 0x41);
    w(0x3800 + 28, 4, 0);
    // Queue 0: 8 entries at 0x10000 / 0x11000 / 0x12000, vector 1.
    w(22, 2, 0);
    w(24, 2, 8);
    w(26, 2, 1);
    w(32, 4, 0x10000);
    w(40, 4, 0x11000);
    w(48, 4, 0x12000);
    w(28, 2, 1);
    w(20, 1, 1 | 2 | 8 | 4); // DRIVER_OK
    // One 32-byte writable buffer.
    dv.setBigUint64(0x10000, 0x20000n, true);
    dv.setUint32(0x10008, 32, true);
    dv.setUint16(0x1000c, VIRTQ_DESC_F_WRITE, true);
    dv.setUint16(0x11004, 0, true);
    dv.setUint16(0x11002, 1, true);
    w(0x3000 + 4 * r(30, 2), 2, 0); // notify queue 0
    expect(dv.getUint16(0x12002, true)).toBe(1); // used idx
    expect(dv.getUint32(0x12008, true)).toBe(32); // bytes written
    expect(bytes.subarray(0x20000, 0x20020).some((b) => b !== 0)).toBe(true);
    expect(msis).toEqual([[0xfee00000, 0, 0x41]]);
    expect(rng.bytesServed).toBe(32);
  });

  it('a malformed queue sets DEVICE_NEEDS_RESET instead of touching memory', () => {
    const mem = new GuestMemory([{ gpa: 0, hostAddress: 0n, bytes: new Uint8Array(1 << 20) }]);
    const t = new VirtioPciTransport(new VirtioRng(), mem, { msi: () => undefined });
    const w = (off: number, n: number, v: number): void => t.write(off, Uint8Array.from({ length: n }, (_, i) => Math.floor(v / 256 ** i) & 0xff));
    w(8, 4, 1);
    w(12, 4, 1);
    w(20, 1, 15);
    w(22, 2, 0);
    w(32, 4, 0xfff000); // descriptor table beyond the 1 MiB of RAM
    w(28, 2, 1);
    w(0x3000, 2, 0);
    const d = new Uint8Array(1);
    t.read(20, d);
    expect((d[0] as number) & 0x40).toBe(0x40);
  });
});
