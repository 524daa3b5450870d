import { describe, expect, it } from 'vitest';
import { AcpiPmControl, AcpiPmEvent } from './acpi-pm.js';

const u16 = (v: number): Uint8Array => new Uint8Array([v & 0xff, v >> 8]);
const read16 = (d: { read(o: number, b: Uint8Array): void }, off = 0): number => {
  const b = new Uint8Array(2);
  d.read(off, b);
  return (b[0] ?? 0) | ((b[1] ?? 0) << 8);
};

describe('ACPI PM1 control', () => {
  it('reads SCI_EN set (the platform is always in ACPI mode)', () => {
    const pm = new AcpiPmControl({ s5SleepType: 5, onPowerOff: () => {} });
    expect(read16(pm) & 1).toBe(1);
  });

  it("powers off when SLP_EN is written with S5's SLP_TYP, as Linux's acpi_hw_legacy_sleep does", () => {
    let off = 0;
    const pm = new AcpiPmControl({ s5SleepType: 5, onPowerOff: () => off++ });
    // First SLP_TYP alone (no SLP_EN): nothing happens, the type is kept.
    pm.write(0, u16(5 << 10));
    expect(off).toBe(0);
    expect(read16(pm)).toBe((5 << 10) | 1);
    // Then with SLP_EN: powered off; SLP_EN reads back 0.
    pm.write(0, u16((5 << 10) | (1 << 13)));
    expect(off).toBe(1);
    expect(read16(pm) & (1 << 13)).toBe(0);
  });

  it('takes byte-wide writes to the high byte too', () => {
    let off = 0;
    const pm = new AcpiPmControl({ s5SleepType: 5, onPowerOff: () => off++ });
    pm.write(1, new Uint8Array([((5 << 10) | (1 << 13)) >> 8]));
    expect(off).toBe(1);
  });

  it('reports other sleep types instead of powering off', () => {
    const seen: number[] = [];
    let off = 0;
    const pm = new AcpiPmControl({ s5SleepType: 5, onPowerOff: () => off++, onSleep: (t) => seen.push(t) });
    pm.write(0, u16((3 << 10) | (1 << 13)));
    expect(off).toBe(0);
    expect(seen).toEqual([3]);
  });
});

describe('ACPI PM1 event block', () => {
  it('keeps PM1_EN, clears PM1_STS bits written as 1, reads all ones past its end', () => {
    const ev = new AcpiPmEvent();
    ev.write(2, u16(0x0121));
    expect(read16(ev, 2)).toBe(0x0121);
    ev.write(0, u16(0xffff));
    expect(read16(ev, 0)).toBe(0);
    const past = new Uint8Array(2);
    ev.read(3, past);
    expect([...past]).toEqual([0x01, 0xff]);
  });
});
