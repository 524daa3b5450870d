/**
 * The ACPI tables a directly booted Linux needs to power the machine off (ACPI 6.5 spec):
 *
 *   RSDP (rev 2) -> XSDT -> FADT -> FACS, DSDT
 *                        -> MADT (local APICs, the I/O APIC, SCI override, LINT1 NMI)
 *
 * The FADT describes a classic (not hardware-reduced) platform, so Linux keeps the 8259 PIC
 * and the PIT exactly as without ACPI: only a PM1 event block (status/enable, 4 bytes) and a
 * PM1 control block (2 bytes) in port space, no PM timer, no GPEs, no SMI command port (the
 * platform is always in ACPI mode). Power-off is the OSPM writing SLP_TYP (taken from the
 * DSDT's `\_S5`) with SLP_EN into PM1a_CNT; `AcpiPm` (devices/legacy/acpi-pm.ts) turns that
 * write into the VM's exit.
 *
 * The MADT is needed as soon as there is an RSDP: Linux with ACPI and no MADT disables the
 * MP table ("No APIC-table, disabling MPS") and boots one CPU in virtual-wire mode. ISA IRQs
 * map to the I/O APIC pin of the same number (KVM's default routing; no override for IRQ 0),
 * the SCI is level-triggered, active high. The DSDT declares the PCI root bridge (PNP0A03 with its bus, I/O and memory windows in `_CRS`),
 * because with an ACPI interpreter running Linux only scans the PCI roots ACPI declares.
 *
 * AML is encoded by the few helpers below (ACPI 6.5 §20: NameOp, ScopeOp, DeviceOp,
 * PackageOp, BufferOp, integer constants, PkgLength) and resource descriptors per §6.4.
 */
import { HyperkitError } from '../../errors.js';
import type { GuestMemory } from '../../memory/guest-memory.js';
import { ACPI_TABLES_END, ACPI_TABLES_START, APIC_START, IOAPIC_START, MMIO_GAP_START } from './layout.js';

/** PM1 event block (PM1_STS at +0, PM1_EN at +2) and PM1 control block, in port space. */
export const ACPI_PM1_EVT_PORT = 0x600;
export const ACPI_PM1_EVT_LEN = 4;
export const ACPI_PM1_CNT_PORT = 0x604;
export const ACPI_PM1_CNT_LEN = 2;
/** The ISA IRQ of the SCI (never raised: no fixed events or GPEs are emulated). */
export const ACPI_SCI_IRQ = 9;
/** SLP_TYP value of S5 (soft off) as `\_S5` declares it. */
export const ACPI_S5_SLP_TYP = 5;

const OEM_ID = 'KITBOX';
const OEM_TABLE_ID = 'HYPERKIT';
const CREATOR_ID = 'KBOX';

/** Offsets of the tables inside [ACPI_TABLES_START, ACPI_TABLES_END). */
const RSDP_OFF = 0x0;
const XSDT_OFF = 0x40;
const FACS_OFF = 0x80; // 64-byte aligned, as the FACS must be
const FADT_OFF = 0x100;
const DSDT_OFF = 0x240; // after the 276-byte FADT
const MADT_OFF = 0x400; // after the DSDT; room for 254 CPUs up to the end of the area

const FADT_LEN = 276; // ACPI 6.x FADT
const FACS_LEN = 64;

// ---- AML encoding -------------------------------------------------------------------

/** PkgLength (§20.2.4): the length of what follows including the PkgLength bytes. */
export function pkgLength(bodyLength: number): number[] {
  if (bodyLength + 1 < 0x40) return [bodyLength + 1];
  if (bodyLength + 2 < 0x1000) {
    const n = bodyLength + 2;
    return [0x40 | (n & 0xf), n >> 4];
  }
  if (bodyLength + 3 < 0x100000) {
    const n = bodyLength + 3;
    return [0x80 | (n & 0xf), (n >> 4) & 0xff, n >> 12];
  }
  throw new HyperkitError('ACPI', `AML object of ${bodyLength} bytes is too large`);
}

/** A NameSeg: four characters from [A-Z0-9_], the first not a digit; short names padded with '_'. */
export function nameSeg(name: string): number[] {
  if (!/^[A-Z_][A-Z0-9_]{0,3}$/.test(name)) throw new HyperkitError('ACPI', `invalid AML name ${JSON.stringify(name)}`);
  return [...name.padEnd(4, '_')].map((c) => c.charCodeAt(0));
}

/** The shortest integer constant (ZeroOp, OneOp, BytePrefix, WordPrefix, DWordPrefix). */
export function amlInteger(n: number): number[] {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new HyperkitError('ACPI', `AML integer ${n} out of range`);
  if (n === 0) return [0x00];
  if (n === 1) return [0x01];
  if (n <= 0xff) return [0x0a, n];
  if (n <= 0xffff) return [0x0b, n & 0xff, n >> 8];
  return [0x0c, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24];
}

/** EISA ID ("PNP0A03") compressed into a DWordConst, as ASL's EisaId() does. */
export function eisaId(id: string): number[] {
  if (!/^[A-Z]{3}[0-9A-F]{4}$/.test(id)) throw new HyperkitError('ACPI', `invalid EISA id ${JSON.stringify(id)}`);
  const c = (i: number): number => id.charCodeAt(i) - 0x40;
  const v = ((c(0) << 26) | (c(1) << 21) | (c(2) << 16) | Number.parseInt(id.slice(3), 16)) >>> 0;
  // Stored most significant byte first (the encoded value is big-endian).
  return [0x0c, v >>> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
}

export const aml = {
  name: (seg: string, value: number[]): number[] => [0x08, ...nameSeg(seg), ...value],
  package: (elements: number[][]): number[] => {
    if (elements.length > 0xff) throw new HyperkitError('ACPI', 'AML package with more than 255 elements');
    const body = [elements.length, ...elements.flat()];
    return [0x12, ...pkgLength(body.length), ...body];
  },
  buffer: (bytes: number[]): number[] => {
    const body = [...amlInteger(bytes.length), ...bytes];
    return [0x11, ...pkgLength(body.length), ...body];
  },
  /** Scope(\NAME) { terms } with a root-relative name. */
  scope: (seg: string, terms: number[]): number[] => {
    const body = [0x5c, ...nameSeg(seg), ...terms];
    return [0x10, ...pkgLength(body.length), ...body];
  },
  device: (seg: string, terms: number[]): number[] => {
    const body = [...nameSeg(seg), ...terms];
    return [0x5b, 0x82, ...pkgLength(body.length), ...body];
  },
};

// ---- resource descriptors (§6.4) -----------------------------------------------------

const le = (n: number, bytes: number): number[] => Array.from({ length: bytes }, (_, i) => Math.floor(n / 2 ** (8 * i)) & 0xff);

/** Word Address Space Descriptor (§6.4.3.5.3): producer, min/max fixed, positive decode. */
function wordAddressSpace(type: 'bus' | 'io', min: number, max: number): number[] {
  const typeFlags = type === 'io' ? 0x03 : 0x00; // I/O: ISA and non-ISA ranges (EntireRange)
  return [0x88, ...le(13, 2), type === 'io' ? 1 : 2, 0x0c, typeFlags, ...le(0, 2), ...le(min, 2), ...le(max, 2), ...le(0, 2), ...le(max - min + 1, 2)];
}

/** DWord Address Space Descriptor (§6.4.3.5.2), memory, read-write, non-cacheable. */
function dwordMemory(min: number, max: number): number[] {
  return [0x87, ...le(23, 2), 0, 0x0c, 0x01, ...le(0, 4), ...le(min, 4), ...le(max, 4), ...le(0, 4), ...le(max - min + 1, 4)];
}

/** I/O Port Descriptor (§6.4.2.5), 16-bit decode. */
function ioPort(base: number, length: number): number[] {
  return [0x47, 0x01, ...le(base, 2), ...le(base, 2), 0x01, length];
}

const END_TAG = [0x79, 0x00];

// ---- tables ----------------------------------------------------------------------------

function ascii(dst: Uint8Array, off: number, s: string, len: number): void {
  for (let i = 0; i < len; i++) dst[off + i] = i < s.length ? s.charCodeAt(i) : 0x20;
}

/** The 8-bit sum of `bytes` is 0 once the byte at `at` is set to what this returns. */
function checksum(bytes: Uint8Array, at: number): void {
  bytes[at] = 0;
  let sum = 0;
  for (const b of bytes) sum = (sum + b) & 0xff;
  bytes[at] = (0x100 - sum) & 0xff;
}

/** The 36-byte System Description Table header (§5.2.6), checksum left to `finish`. */
function header(t: Uint8Array, signature: string, revision: number): DataView {
  const dv = new DataView(t.buffer, t.byteOffset, t.byteLength);
  ascii(t, 0, signature, 4);
  dv.setUint32(4, t.length, true);
  t[8] = revision;
  ascii(t, 10, OEM_ID, 6);
  ascii(t, 16, OEM_TABLE_ID, 8);
  dv.setUint32(24, 1, true);
  ascii(t, 28, CREATOR_ID, 4);
  dv.setUint32(32, 1, true);
  return dv;
}

/** Generic Address Structure (§5.2.3.2) in system I/O space. */
function gasIo(dv: DataView, off: number, port: number, bitWidth: number, accessSize: number): void {
  dv.setUint8(off, 1);
  dv.setUint8(off + 1, bitWidth);
  dv.setUint8(off + 2, 0);
  dv.setUint8(off + 3, accessSize);
  dv.setBigUint64(off + 4, BigInt(port), true);
}

export function buildDsdt(): Uint8Array {
  const crs = [
    ...wordAddressSpace('bus', 0, 0xff),
    ...ioPort(0xcf8, 8),
    ...wordAddressSpace('io', 0x0000, 0x0cf7),
    ...wordAddressSpace('io', 0x0d00, 0xffff),
    ...dwordMemory(MMIO_GAP_START, IOAPIC_START - 1),
    ...END_TAG,
  ];
  const body = [
    // Name (_S5, Package () { 5, 5, 0, 0 }): SLP_TYPa, SLP_TYPb, reserved.
    ...aml.name('_S5', aml.package([amlInteger(ACPI_S5_SLP_TYP), amlInteger(ACPI_S5_SLP_TYP), amlInteger(0), amlInteger(0)])),
    ...aml.scope(
      '_SB',
      aml.device('PCI0', [
        ...aml.name('_HID', eisaId('PNP0A03')),
        ...aml.name('_ADR', amlInteger(0)),
        ...aml.name('_UID', amlInteger(0)),
        ...aml.name('_BBN', amlInteger(0)),
        ...aml.name('_CRS', aml.buffer(crs)),
      ]),
    ),
  ];
  const t = new Uint8Array(36 + body.length);
  header(t, 'DSDT', 2);
  t.set(body, 36);
  checksum(t, 9);
  return t;
}

export function buildFadt(facs: number, dsdt: number): Uint8Array {
  const t = new Uint8Array(FADT_LEN);
  const dv = header(t, 'FACP', 6);
  dv.setUint32(36, facs, true); // FIRMWARE_CTRL
  dv.setUint32(40, dsdt, true); // DSDT
  dv.setUint16(46, ACPI_SCI_IRQ, true); // SCI_INT
  // SMI_CMD = 0: no transition to ACPI mode needed (ACPI_ENABLE/DISABLE unused).
  dv.setUint32(56, ACPI_PM1_EVT_PORT, true); // PM1a_EVT_BLK
  dv.setUint32(64, ACPI_PM1_CNT_PORT, true); // PM1a_CNT_BLK
  dv.setUint8(88, ACPI_PM1_EVT_LEN); // PM1_EVT_LEN
  dv.setUint8(89, ACPI_PM1_CNT_LEN); // PM1_CNT_LEN
  dv.setUint16(96, 101, true); // P_LVL2_LAT > 100: C2 not supported
  dv.setUint16(98, 1001, true); // P_LVL3_LAT > 1000: C3 not supported
  // IAPC_BOOT_ARCH: LEGACY_DEVICES | VGA Not Present. The 8042 bit stays clear, as in
  // Firecracker: the i8042 here only carries the reset line (which `reboot=k` drives
  // directly), and with the bit set Linux's i8042 driver probes keyboard and AUX ports and
  // waits out their timeouts: ~10,000 status-port exits per boot.
  dv.setUint16(109, 0x0001 | 0x0004, true);
  // Flags: WBINVD | PROC_C1 | PWR_BUTTON (none) | SLP_BUTTON (none).
  dv.setUint32(112, (1 << 0) | (1 << 2) | (1 << 4) | (1 << 5), true);
  dv.setUint8(131, 5); // FADT minor version (6.5)
  dv.setBigUint64(140, BigInt(dsdt), true); // X_DSDT
  gasIo(dv, 148, ACPI_PM1_EVT_PORT, ACPI_PM1_EVT_LEN * 8, 2); // X_PM1a_EVT_BLK
  gasIo(dv, 172, ACPI_PM1_CNT_PORT, ACPI_PM1_CNT_LEN * 8, 2); // X_PM1a_CNT_BLK
  checksum(t, 9);
  return t;
}

/** The MADT (§5.2.12) for `cpus` vCPUs with APIC IDs 0..cpus-1 and one I/O APIC (ID = cpus). */
export function buildMadt(cpus: number): Uint8Array {
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > 254) throw new HyperkitError('ACPI', `MADT for ${cpus} CPUs`);
  const t = new Uint8Array(44 + 8 * cpus + 12 + 10 + 6);
  const dv = header(t, 'APIC', 5);
  dv.setUint32(36, APIC_START, true); // Local Interrupt Controller Address
  dv.setUint32(40, 1, true); // PCAT_COMPAT: there are 8259s (Linux masks them)
  let o = 44;
  for (let id = 0; id < cpus; id++) {
    // Processor Local APIC: type 0, length 8, ACPI processor UID, APIC ID, flags (enabled).
    t.set([0, 8, id, id], o);
    dv.setUint32(o + 4, 1, true);
    o += 8;
  }
  // I/O APIC: type 1, length 12, ID, reserved, address, global system interrupt base 0.
  t.set([1, 12, cpus, 0], o);
  dv.setUint32(o + 4, IOAPIC_START, true);
  dv.setUint32(o + 8, 0, true);
  o += 12;
  // Interrupt Source Override for the SCI: ISA IRQ 9 -> GSI 9, active high (01), level (11).
  t.set([2, 10, 0, ACPI_SCI_IRQ], o);
  dv.setUint32(o + 4, ACPI_SCI_IRQ, true);
  dv.setUint16(o + 8, 0x1 | (0x3 << 2), true);
  o += 10;
  // Local APIC NMI: all processors (UID 0xFF), flags conforming, on LINT1.
  t.set([4, 6, 0xff, 0, 0, 1], o);
  checksum(t, 9);
  return t;
}

export function buildFacs(): Uint8Array {
  const t = new Uint8Array(FACS_LEN);
  const dv = new DataView(t.buffer);
  ascii(t, 0, 'FACS', 4);
  dv.setUint32(4, FACS_LEN, true);
  t[32] = 2; // version (no checksum in the FACS)
  return t;
}

export function buildXsdt(entries: readonly number[]): Uint8Array {
  const t = new Uint8Array(36 + 8 * entries.length);
  const dv = header(t, 'XSDT', 1);
  entries.forEach((e, i) => dv.setBigUint64(36 + 8 * i, BigInt(e), true));
  checksum(t, 9);
  return t;
}

export function buildRsdp(xsdt: number): Uint8Array {
  const t = new Uint8Array(36);
  const dv = new DataView(t.buffer);
  ascii(t, 0, 'RSD PTR ', 8);
  ascii(t, 9, OEM_ID, 6);
  t[15] = 2; // revision: ACPI 2.0+ (XSDT)
  dv.setUint32(20, 36, true);
  dv.setBigUint64(24, BigInt(xsdt), true);
  // Checksum of the first 20 bytes (ACPI 1.0 part), then of all 36 (extended checksum).
  const first = t.subarray(0, 20);
  checksum(first, 8);
  checksum(t, 32);
  return t;
}

/**
 * Writes RSDP, XSDT, FADT, FACS, DSDT and MADT at ACPI_TABLES_START (where Linux also finds the
 * RSDP by scanning 0xE0000-0xFFFFF) and returns the RSDP's address, for boot_params'
 * `acpi_rsdp_addr`.
 */
export function writeAcpiTables(mem: GuestMemory, cpus: number): number {
  const base = ACPI_TABLES_START;
  const dsdt = buildDsdt();
  const tables: [number, Uint8Array][] = [
    [RSDP_OFF, buildRsdp(base + XSDT_OFF)],
    [XSDT_OFF, buildXsdt([base + FADT_OFF, base + MADT_OFF])],
    [FACS_OFF, buildFacs()],
    [FADT_OFF, buildFadt(base + FACS_OFF, base + DSDT_OFF)],
    [DSDT_OFF, dsdt],
    [MADT_OFF, buildMadt(cpus)],
  ];
  for (let i = 1; i < tables.length; i++) {
    const [a, ta] = tables[i - 1] as [number, Uint8Array];
    const [b] = tables[i] as [number, Uint8Array];
    if (a + ta.length > b) throw new HyperkitError('ACPI', 'ACPI tables overlap');
  }
  const [lastOff, last] = tables.at(-1) as [number, Uint8Array];
  if (base + lastOff + last.length > ACPI_TABLES_END) throw new HyperkitError('ACPI', 'the ACPI tables do not fit in their area');
  if (!mem.view(base, ACPI_TABLES_END - base)) throw new HyperkitError('ACPI', 'guest RAM does not cover the ACPI area');
  mem.slice(base, ACPI_TABLES_END - base).fill(0);
  for (const [off, t] of tables) mem.write(base + off, t);
  return base + RSDP_OFF;
}
