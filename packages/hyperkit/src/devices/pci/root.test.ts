import { describe, expect, it } from 'vitest';
import { Bus } from '../bus.js';
import { PciConfigSpace } from './config-space.js';
import { PCI_CONFIG_PORT, PCI_CONFIG_PORTS, PciRoot } from './root.js';

/** Port I/O the way a guest's pci_conf1 does it. */
function ports(root: PciRoot) {
  const bus = new Bus('pio');
  bus.insert(PCI_CONFIG_PORT, PCI_CONFIG_PORTS, root, 'pci');
  const outl = (port: number, v: number): void => void bus.write(port, Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24));
  const inN = (port: number, n: number): number => {
    const d = new Uint8Array(n);
    bus.read(port, d);
    let v = 0;
    for (let i = n - 1; i >= 0; i--) v = (v << 8) | (d[i] as number);
    return v >>> 0;
  };
  const cfg = (dev: number, reg: number, n = 4, busNo = 0): number => {
    outl(0xcf8, (0x80000000 | (busNo << 16) | (dev << 11) | (reg & 0xfc)) >>> 0);
    return inN(0xcfc + (reg & 3), n);
  };
  const cfgw = (dev: number, reg: number, v: number, n = 4): void => {
    outl(0xcf8, (0x80000000 | (dev << 11) | (reg & 0xfc)) >>> 0);
    const d = new Uint8Array(n);
    for (let i = 0; i < n; i++) d[i] = (v >>> (8 * i)) & 0xff;
    bus.write(0xcfc + (reg & 3), d);
  };
  return { bus, outl, inN, cfg, cfgw };
}

function virtioLike(): PciConfigSpace {
  const c = new PciConfigSpace({ vendorId: 0x1af4, deviceId: 0x1044, classCode: 0x00ff00, subsystemVendorId: 0x1af4, subsystemId: 0x0040, revision: 1, interruptPin: 1 });
  c.addBar({ index: 0, kind: 'mem32', size: 0x4000 });
  c.addBar({ index: 2, kind: 'mem64', size: 0x10_0000, prefetchable: true });
  c.addBar({ index: 5, kind: 'io', size: 0x20 });
  c.addCapability(0x09, Uint8Array.of(16, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), [3]);
  c.addCapability(0x09, Uint8Array.of(16, 2, 0, 0));
  return c;
}

describe('PCI configuration mechanism #1', () => {
  it('passes Linux pci_check_type1(): CONFIG_ADDRESS reads back, a host bridge on 00:00.0', () => {
    const p = ports(new PciRoot());
    p.bus.write(0xcfb, Uint8Array.of(1)); // outb(0x01, 0xCFB): not CONFIG_ADDRESS
    p.outl(0xcf8, 0x80000000);
    expect(p.inN(0xcf8, 4)).toBe(0x80000000);
    expect(p.cfg(0, 0x00)).toBe(0x12378086);
    expect(p.cfg(0, 0x08) >>> 8).toBe(0x060000); // class: host bridge
  });

  it('scans bus 0: absent slots, functions and buses read all ones', () => {
    const root = new PciRoot();
    root.add(3, { config: virtioLike() });
    const p = ports(root);
    const found = [];
    for (let dev = 0; dev < 32; dev++) if ((p.cfg(dev, 0) & 0xffff) !== 0xffff) found.push(dev);
    expect(found).toEqual([0, 3]);
    expect(p.cfg(3, 0, 4, 1)).toBe(0xffffffff); // bus 1
    p.outl(0xcf8, 0x80000000 | (3 << 11) | (1 << 8)); // function 1
    expect(p.inN(0xcfc, 4)).toBe(0xffffffff);
    p.outl(0xcf8, 3 << 11); // enable bit clear
    expect(p.inN(0xcfc, 4)).toBe(0xffffffff);
  });

  it('byte and word accesses reach the right bytes; read-only fields ignore writes', () => {
    const root = new PciRoot();
    root.add(3, { config: virtioLike() });
    const p = ports(root);
    expect(p.cfg(3, 0x02, 2)).toBe(0x1044);
    expect(p.cfg(3, 0x0b, 1)).toBe(0x00);
    expect(p.cfg(3, 0x3d, 1)).toBe(1); // INTA#
    p.cfgw(3, 0x00, 0xdeadbeef);
    expect(p.cfg(3, 0x00)).toBe(0x10441af4);
    p.cfgw(3, 0x3c, 11, 1); // interrupt line: writable
    expect(p.cfg(3, 0x3c, 1)).toBe(11);
    p.cfgw(3, 0x04, 0xffff, 2); // command: only IO, MEM, MASTER, INTX_DISABLE stick
    expect(p.cfg(3, 0x04, 2)).toBe(0x0407);
  });

  it('sizes and places BARs as a firmware or Linux does', () => {
    const root = new PciRoot();
    const c = virtioLike();
    root.add(3, { config: c });
    const p = ports(root);
    // 32-bit memory BAR0 of 16 KiB.
    p.cfgw(3, 0x10, 0xffffffff);
    expect(p.cfg(3, 0x10)).toBe(0xffffc000);
    p.cfgw(3, 0x10, 0xc000_0000);
    expect(p.cfg(3, 0x10)).toBe(0xc000_0000);
    expect(c.barAddress(0)).toBe(0xc000_0000);
    // 64-bit prefetchable BAR2/3 of 1 MiB.
    p.cfgw(3, 0x18, 0xffffffff);
    p.cfgw(3, 0x1c, 0xffffffff);
    expect(p.cfg(3, 0x18)).toBe(0xfff0000c);
    expect(p.cfg(3, 0x1c)).toBe(0xffffffff);
    p.cfgw(3, 0x18, 0xd000_0000);
    p.cfgw(3, 0x1c, 0x1);
    expect(c.barAddress(2)).toBe(0x1_d000_0000);
    // I/O BAR5 of 32 ports.
    p.cfgw(3, 0x24, 0xffffffff);
    expect(p.cfg(3, 0x24)).toBe(0xffffffe1);
    // No BAR at 1 and 4: sizing finds nothing.
    p.cfgw(3, 0x14, 0xffffffff);
    expect(p.cfg(3, 0x14)).toBe(0);
  });

  it('links capabilities; only bytes marked writable change', () => {
    const root = new PciRoot();
    root.add(3, { config: virtioLike() });
    const p = ports(root);
    expect(p.cfg(3, 0x06, 2) & 0x10).toBe(0x10);
    const caps: number[] = [];
    for (let at = p.cfg(3, 0x34, 1), n = 0; at !== 0 && n < 48; at = p.cfg(3, at + 1, 1), n++) caps.push(at);
    expect(caps).toEqual([0x40, 0x50]);
    p.cfgw(3, 0x43, 0x7f, 1);
    p.cfgw(3, 0x44, 0x7f, 1);
    expect(p.cfg(3, 0x43, 1)).toBe(0x7f);
    expect(p.cfg(3, 0x44, 1)).toBe(0);
  });
});
