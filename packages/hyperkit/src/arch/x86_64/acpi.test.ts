import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../../memory/guest-memory.js';
import {
  ACPI_PM1_CNT_PORT,
  ACPI_PM1_EVT_PORT,
  amlInteger,
  buildDsdt,
  buildFadt,
  buildMadt,
  buildRsdp,
  eisaId,
  nameSeg,
  pkgLength,
  writeAcpiTables,
} from './acpi.js';
import { ACPI_TABLES_START } from './layout.js';

const sum8 = (b: Uint8Array): number => b.reduce((s, x) => (s + x) & 0xff, 0);
const text = (b: Uint8Array, off: number, len: number): string => Buffer.from(b.subarray(off, off + len)).toString('latin1');

function memory(): GuestMemory {
  return new GuestMemory([{ gpa: 0, bytes: new Uint8Array(0x200000), hostAddress: 0n }]);
}

describe('AML encoding', () => {
  it('encodes PkgLength in one, two and three bytes (ACPI 6.5 §20.2.4)', () => {
    expect(pkgLength(5)).toEqual([6]);
    expect(pkgLength(62)).toEqual([63]);
    // 63 bytes of body + 2 length bytes = 65 = 0x41: low nibble 1 in the lead byte, 0x4 next.
    expect(pkgLength(63)).toEqual([0x41, 0x04]);
    expect(pkgLength(0x1000)).toEqual([0x80 | 0x3, 0x00, 0x01]);
  });

  it('chooses the shortest integer constant', () => {
    expect(amlInteger(0)).toEqual([0x00]);
    expect(amlInteger(1)).toEqual([0x01]);
    expect(amlInteger(5)).toEqual([0x0a, 5]);
    expect(amlInteger(0xcf8)).toEqual([0x0b, 0xf8, 0x0c]);
    expect(amlInteger(0xc000_0000)).toEqual([0x0c, 0, 0, 0, 0xc0]);
    expect(() => amlInteger(-1)).toThrow(/out of range/);
  });

  it("compresses EISA ids as ASL's EisaId() does", () => {
    expect(eisaId('PNP0A03')).toEqual([0x0c, 0x41, 0xd0, 0x0a, 0x03]);
    expect(eisaId('PNP0501')).toEqual([0x0c, 0x41, 0xd0, 0x05, 0x01]);
    expect(() => eisaId('pnp0a03')).toThrow(/invalid EISA id/);
  });

  it('pads and validates name segments', () => {
    expect(nameSeg('_S5')).toEqual([0x5f, 0x53, 0x35, 0x5f]);
    expect(() => nameSeg('1ABC')).toThrow(/invalid AML name/);
    expect(() => nameSeg('TOOLONG')).toThrow(/invalid AML name/);
  });
});

describe('ACPI tables', () => {
  it('writes RSDP -> XSDT -> FADT -> FACS/DSDT with valid checksums', () => {
    const mem = memory();
    const rsdp = writeAcpiTables(mem, 2);
    expect(rsdp).toBe(ACPI_TABLES_START);
    expect(rsdp % 16).toBe(0); // Linux scans 16-byte boundaries
    const r = mem.slice(rsdp, 36);
    expect(text(r, 0, 8)).toBe('RSD PTR ');
    expect(sum8(r.subarray(0, 20))).toBe(0);
    expect(sum8(r)).toBe(0);
    expect(r[15]).toBe(2);
    const rv = new DataView(r.buffer, r.byteOffset, 36);
    const xsdtAddr = Number(rv.getBigUint64(24, true));

    const xh = mem.slice(xsdtAddr, 36);
    const xlen = new DataView(xh.buffer, xh.byteOffset).getUint32(4, true);
    const x = mem.slice(xsdtAddr, xlen);
    expect(text(x, 0, 4)).toBe('XSDT');
    expect(sum8(x)).toBe(0);
    expect(xlen).toBe(52); // two entries: the FADT and the MADT
    const fadtAddr = Number(new DataView(x.buffer, x.byteOffset).getBigUint64(36, true));
    const madtAddr = Number(new DataView(x.buffer, x.byteOffset).getBigUint64(44, true));
    const mh = mem.slice(madtAddr, 8);
    const m = mem.slice(madtAddr, new DataView(mh.buffer, mh.byteOffset).getUint32(4, true));
    expect(text(m, 0, 4)).toBe('APIC');
    expect(sum8(m)).toBe(0);
    // Two local APICs (IDs 0, 1, enabled), then the I/O APIC (ID 2 at 0xFEC00000, GSI base 0).
    expect([...m.subarray(44, 60)]).toEqual([0, 8, 0, 0, 1, 0, 0, 0, 0, 8, 1, 1, 1, 0, 0, 0]);
    expect([...m.subarray(60, 72)]).toEqual([1, 12, 2, 0, 0, 0, 0xc0, 0xfe, 0, 0, 0, 0]);

    const f = mem.slice(fadtAddr, 276);
    const fv = new DataView(f.buffer, f.byteOffset, 276);
    expect(text(f, 0, 4)).toBe('FACP');
    expect(fv.getUint32(4, true)).toBe(276);
    expect(sum8(f)).toBe(0);
    const facs = fv.getUint32(36, true);
    const dsdt = fv.getUint32(40, true);
    expect(Number(fv.getBigUint64(140, true))).toBe(dsdt);
    expect(facs % 64).toBe(0);
    expect(text(mem.slice(facs, 4), 0, 4)).toBe('FACS');
    expect(fv.getUint32(56, true)).toBe(ACPI_PM1_EVT_PORT);
    expect(fv.getUint32(64, true)).toBe(ACPI_PM1_CNT_PORT);
    expect(fv.getUint32(48, true)).toBe(0); // SMI_CMD: always in ACPI mode
    expect(fv.getUint32(76, true)).toBe(0); // no PM timer
    expect(fv.getUint32(112, true) & (1 << 20)).toBe(0); // not hardware-reduced: PIC and PIT stay
    expect(fv.getUint16(109, true) & 0x2).toBe(0); // no 8042 for Linux to probe (reset only)

    const dh = mem.slice(dsdt, 8);
    const dlen = new DataView(dh.buffer, dh.byteOffset).getUint32(4, true);
    const d = mem.slice(dsdt, dlen);
    expect(text(d, 0, 4)).toBe('DSDT');
    expect(sum8(d)).toBe(0);
    // Name (_S5, Package (4) { 5, 5, 0, 0 })
    expect(Buffer.from(d).includes(Buffer.from([0x08, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00]))).toBe(true);
  });

  it('refuses guest memory that does not cover the ACPI area', () => {
    const small = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(0x80000), hostAddress: 0n }]);
    expect(() => writeAcpiTables(small, 1)).toThrow(/ACPI area/);
  });

  const iasl = ['/usr/bin/iasl', '/usr/sbin/iasl'].find((p) => existsSync(p));
  if (!iasl) console.log('ACPI disassembly check skipped: iasl not found (Debian package acpica-tools, installed by tools/setup)');
  it.skipIf(!iasl)("disassembles cleanly with ACPICA's iasl, which sees the sleep state, the PCI root and its windows", () => {
    const dir = mkdtempSync(join(tmpdir(), 'kitbox-acpi-'));
    try {
      writeFileSync(join(dir, 'dsdt.dat'), buildDsdt());
      writeFileSync(join(dir, 'facp.dat'), buildFadt(0xe0080, 0xe0240));
      writeFileSync(join(dir, 'rsdp.dat'), buildRsdp(0xe0040));
      writeFileSync(join(dir, 'apic.dat'), buildMadt(2));
      execFileSync(iasl as string, ['-d', 'dsdt.dat', 'facp.dat', 'apic.dat'], { cwd: dir, stdio: 'pipe' });
      const madt = readFileSync(join(dir, 'apic.dsl'), 'latin1');
      expect(madt).not.toMatch(/Incorrect checksum|Invalid|Unknown/i);
      expect(madt.match(/Subtable Type : 00 \[Processor Local APIC\]/g)).toHaveLength(2);
      expect(madt).toMatch(/Subtable Type : 01 \[I\/O APIC\][\s\S]*Address : FEC00000/);
      expect(madt).toMatch(/Subtable Type : 02 \[Interrupt Source Override\][\s\S]*Source : 09[\s\S]*Trigger Mode : 3/);
      expect(madt).toMatch(/Subtable Type : 04 \[Local APIC NMI\][\s\S]*Interrupt Input LINT : 01/);
      // Without iasl's explanatory comments and the file header.
      const dsl = readFileSync(join(dir, 'dsdt.dsl'), 'latin1').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');
      expect(dsl).toMatch(/Name \(_S5, Package \(0x04\)\s*\{\s*0x05,\s*0x05,\s*Zero,\s*Zero\s*\}\)/);
      expect(dsl).toMatch(/Device \(PCI0\)/);
      expect(dsl).toMatch(/Name \(_HID, EisaId \("PNP0A03"\)\s*\)/);
      expect(dsl).toMatch(/WordBusNumber \(ResourceProducer, MinFixed, MaxFixed, PosDecode,[\s\S]*?0x00FF,/);
      expect(dsl).toMatch(/IO \(Decode16,\s*0x0CF8,\s*0x0CF8,\s*0x01,\s*0x08/);
      expect(dsl).toMatch(/DWordMemory \(ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,[\s\S]*?0xC0000000,[\s\S]*?0xFEBFFFFF,/);
      expect(dsl).not.toMatch(/Invalid|Error/i);
      const facp = readFileSync(join(dir, 'facp.dsl'), 'latin1');
      expect(facp).toMatch(/Checksum : .*\n/);
      expect(facp).not.toMatch(/Incorrect checksum|Invalid/i);
      expect(facp).toMatch(/PM1A Event Block Address : 00000600/);
      expect(facp).toMatch(/PM1A Control Block Address : 00000604/);
      expect(facp).toMatch(/Hardware Reduced \(V5\) : 0/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
