/**
 * The PCI memory window: one MMIO range (below the I/O APIC) that routes
 * each access to the function whose BAR0 currently contains it and whose
 * memory decoding is on, wherever the guest placed that BAR.  Accesses
 * that hit no BAR read as all ones and are otherwise ignored.
 */
import type { BusDevice } from '../bus.js';
import { PCI_COMMAND_MEMORY } from './config-space.js';
import type { PciFunction } from './root.js';

export type BarDevice = PciFunction & BusDevice;

export class PciMmioWindow implements BusDevice {
  private readonly devices: BarDevice[] = [];

  constructor(readonly base: number) {}

  add(d: BarDevice): void {
    this.devices.push(d);
  }

  private find(addr: number, len: number): { d: BarDevice; offset: number } | undefined {
    for (const d of this.devices) {
      const c = d.config;
      if ((c.command & PCI_COMMAND_MEMORY) === 0) continue;
      const at = c.barAddress(0);
      const size = c.barSize(0);
      if (at !== 0 && addr >= at && addr + len <= at + size) return { d, offset: addr - at };
    }
    return undefined;
  }

  read(offset: number, data: Uint8Array): void {
    const hit = this.find(this.base + offset, data.length);
    if (hit === undefined) data.fill(0xff);
    else hit.d.read(hit.offset, data);
  }

  write(offset: number, data: Uint8Array): void {
    const hit = this.find(this.base + offset, data.length);
    hit?.d.write(hit.offset, data);
  }
}
