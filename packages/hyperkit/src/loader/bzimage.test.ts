import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../memory/guest-memory.js';
import { e820Map, loadBzImage, parseSetupHeader } from './bzimage.js';

/** Guest RAM backed by a plain ArrayBuffer (the loader never needs KVM). */
function ram(size: number): GuestMemory {
  return new GuestMemory([{ gpa: 0, hostAddress: 0n, bytes: new Uint8Array(size) }]);
}

/** A minimal valid bzImage: 4 setup sectors + 1 boot sector, then `payload`. */
function fakeImage(payload = new Uint8Array(4096).fill(0x90), patch: (dv: DataView) => void = () => {}): Uint8Array {
  const img = new Uint8Array(5 * 512 + payload.length);
  const dv = new DataView(img.buffer);
  dv.setUint8(0x1f1, 4); // setup_sects
  dv.setUint16(0x1fe, 0xaa55, true);
  dv.setUint8(0x201, 0x6a); // header ends at 0x26c
  dv.setUint32(0x202, 0x53726448, true); // "HdrS"
  dv.setUint16(0x206, 0x020f, true);
  dv.setUint8(0x211, 0x01); // LOADED_HIGH
  dv.setUint32(0x22c, 0x7fffffff, true); // initrd_addr_max
  dv.setUint16(0x236, 0x1, true); // XLF_KERNEL_64
  dv.setUint32(0x238, 2047, true); // cmdline_size
  dv.setUint32(0x260, 0x10000, true); // init_size
  img.set(payload, 5 * 512);
  patch(dv);
  return img;
}

describe('parseSetupHeader', () => {
  it('reads the fields the loader needs', () => {
    const h = parseSetupHeader(fakeImage());
    expect(h).toMatchObject({ version: 0x020f, setupSects: 4, setupSize: 2560, headerEnd: 0x26c, cmdlineSize: 2047, initSize: 0x10000 });
  });

  it('refuses images that are not 64-bit bzImages, with the reason', () => {
    expect(() => parseSetupHeader(new Uint8Array(100))).toThrow(/too short/);
    expect(() => parseSetupHeader(fakeImage(undefined, (d) => d.setUint16(0x1fe, 0, true)))).toThrow(/0xAA55/);
    expect(() => parseSetupHeader(fakeImage(undefined, (d) => d.setUint32(0x202, 0, true)))).toThrow(/HdrS/);
    expect(() => parseSetupHeader(fakeImage(undefined, (d) => d.setUint16(0x206, 0x0206, true)))).toThrow(/predates/);
    expect(() => parseSetupHeader(fakeImage(undefined, (d) => d.setUint16(0x236, 0, true)))).toThrow(/64-bit entry/);
    expect(() => parseSetupHeader(fakeImage(undefined, (d) => d.setUint8(0x1f1, 200)))).toThrow(/leaves no kernel/);
    expect(() => parseSetupHeader(fakeImage(undefined, (d) => d.setUint8(0x201, 0x10)))).toThrow(/header ends/);
  });
});

describe('loadBzImage', () => {
  it('lays out kernel, command line, initrd and zero page', () => {
    const mem = ram(64 << 20);
    const payload = new Uint8Array(8192).map((_, i) => i & 0xff);
    const initrd = new Uint8Array(10000).fill(7);
    const k = loadBzImage(mem, { image: fakeImage(payload), cmdline: 'console=ttyS0 panic=-1', initrd });
    expect(k.entry).toBe(0x100200);
    expect([...mem.slice(0x100000, 8)]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(new TextDecoder().decode(mem.slice(0x20000, 22))).toBe('console=ttyS0 panic=-1');
    expect(mem.slice(0x20000 + 22, 1)[0]).toBe(0);
    // initrd: page aligned, as high as RAM allows
    expect(k.initrd).toEqual({ addr: (64 << 20) - 12288, size: 10000 });
    const zp = new DataView(mem.slice(0x7000, 4096).buffer, 0x7000, 4096);
    expect(zp.getUint32(0x202, true)).toBe(0x53726448); // header copied
    expect(zp.getUint8(0x210)).toBe(0xff); // type_of_loader
    expect(zp.getUint32(0x228, true)).toBe(0x20000); // cmd_line_ptr
    expect(zp.getUint32(0x218, true)).toBe(k.initrd?.addr);
    expect(zp.getUint32(0x21c, true)).toBe(10000);
    expect(zp.getUint8(0x1e8)).toBe(2); // e820 entries
    expect(zp.getBigUint64(0x2d0 + 20 + 8, true)).toBe(BigInt((64 << 20) - 0x100000));
  });

  it('refuses command lines and initrds that do not fit', () => {
    const mem = ram(4 << 20);
    expect(() => loadBzImage(mem, { image: fakeImage(), cmdline: 'x'.repeat(3000) })).toThrow(/takes 2047/);
    expect(() => loadBzImage(mem, { image: fakeImage(), cmdline: 'a\0b' })).toThrow(/NUL/);
    expect(() => loadBzImage(mem, { image: fakeImage(), cmdline: '', initrd: new Uint8Array(4 << 20) })).toThrow(/does not fit/);
    expect(() => loadBzImage(ram(1 << 20), { image: fakeImage(), cmdline: '' })).toThrow(/init_size/);
  });

  it('describes RAM split by the EBDA', () => {
    expect(e820Map(ram(16 << 20))).toEqual([
      { addr: 0, size: 0x9fc00, type: 1 },
      { addr: 0x100000, size: (16 << 20) - 0x100000, type: 1 },
    ]);
  });
});

// Debian's kernel, fetched by tools/kernel/fetch (the setup script does not fetch it: it
// is ~70 MB; tests that need it say so when it is absent).
const kernelDir = (() => {
  try {
    return execFileSync('bash', [new URL('../../../../tools/kernel/fetch', import.meta.url).pathname], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
})();
const vmlinuz = kernelDir && `${kernelDir}/vmlinuz`;
if (!vmlinuz || !existsSync(vmlinuz)) console.log('skipping the Debian kernel test: tools/kernel/fetch could not fetch it');

describe.skipIf(!vmlinuz || !existsSync(vmlinuz))("Debian's kernel", () => {
  it('parses and loads', () => {
    const image = readFileSync(vmlinuz as string);
    const h = parseSetupHeader(image);
    expect(h.version).toBeGreaterThanOrEqual(0x020f);
    expect(h.relocatable).toBe(true);
    const mem = ram(256 << 20);
    const k = loadBzImage(mem, { image, cmdline: 'console=ttyS0 noxsave' });
    expect(k.entry).toBe(0x100200);
  });
});
