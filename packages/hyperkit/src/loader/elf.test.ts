import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { GuestMemory } from '../memory/guest-memory.js';
import { makeBzImage } from '../testing/bzimage.js';
import { createVm } from '../vm/machine.js';
import { ELF_MAX_PHDRS, isElf, loadElf, parseElf } from './elf.js';

/** Guest RAM backed by a plain ArrayBuffer, filled with 0xcc so untouched bytes show. */
function ram(size: number): GuestMemory {
  return new GuestMemory([{ gpa: 0, hostAddress: 0n, bytes: new Uint8Array(size).fill(0xcc) }]);
}

const TEXT = new Uint8Array(0x100).map((_, i) => (i * 7) ^ 0x5a); // "code"
const DATA = new Uint8Array(0x80).map((_, i) => 0xd0 + (i & 0xf)); // initialised data

/** Notes as Linux emits them: a GNU build-id note, then Xen's PVH entry (8-byte desc). */
function notes(pvhDescSize = 8): Uint8Array {
  const out = new Uint8Array(16 + 4 + 16 + pvhDescSize);
  const dv = new DataView(out.buffer);
  // namesz[4]=4 descsz[4]=4 type[4]=3 (NT_GNU_BUILD_ID) "GNU\0" desc[4]
  dv.setUint32(0, 4, true);
  dv.setUint32(4, 4, true);
  dv.setUint32(8, 3, true);
  out.set([0x47, 0x4e, 0x55, 0], 12);
  dv.setUint32(16, 0xdeadbeef, true);
  // namesz[4]=4 descsz[4] type[4]=18 (XEN_ELFNOTE_PHYS32_ENTRY) "Xen\0" desc = 0x200050
  dv.setUint32(20, 4, true);
  dv.setUint32(24, pvhDescSize, true);
  dv.setUint32(28, 18, true);
  out.set([0x58, 0x65, 0x6e, 0], 32);
  dv.setUint32(36, 0x200050, true);
  return out;
}

/**
 * A small vmlinux-shaped ELF (0x3000 bytes):
 *   ehdr          @0       e_entry 0x200010, 3 program headers at 64
 *   phdr[0] LOAD  R+X      file 0x1000+0x100 -> paddr 0x200000 (vaddr 0xffffffff80200000), memsz 0x100, align 2 MiB
 *   phdr[1] LOAD  R+W      file 0x2000+0x80  -> paddr 0x400000, memsz 0x1000 (0xf80 bytes of bss), align 4 KiB
 *   phdr[2] NOTE           file 0x1800+len
 * `patch` edits the finished file (its DataView) to make it malformed.
 */
function elfFile(patch: (dv: DataView) => void = () => {}, pvhDescSize = 8): Uint8Array {
  const img = new Uint8Array(0x3000);
  const dv = new DataView(img.buffer);
  img.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0); // magic, ELFCLASS64, ELFDATA2LSB, EV_CURRENT
  dv.setUint16(16, 2, true); // e_type ET_EXEC
  dv.setUint16(18, 62, true); // e_machine EM_X86_64
  dv.setUint32(20, 1, true); // e_version
  dv.setBigUint64(24, 0x200010n, true); // e_entry
  dv.setBigUint64(32, 64n, true); // e_phoff
  dv.setUint16(52, 64, true); // e_ehsize
  dv.setUint16(54, 56, true); // e_phentsize
  dv.setUint16(56, 3, true); // e_phnum
  const n = notes(pvhDescSize);
  const ph = (i: number, type: number, flags: number, offset: number, vaddr: bigint, paddr: number, filesz: number, memsz: number, align: number): void => {
    const o = 64 + i * 56;
    dv.setUint32(o, type, true);
    dv.setUint32(o + 4, flags, true);
    dv.setBigUint64(o + 8, BigInt(offset), true);
    dv.setBigUint64(o + 16, vaddr, true);
    dv.setBigUint64(o + 24, BigInt(paddr), true);
    dv.setBigUint64(o + 32, BigInt(filesz), true);
    dv.setBigUint64(o + 40, BigInt(memsz), true);
    dv.setBigUint64(o + 48, BigInt(align), true);
  };
  ph(0, 1, 5, 0x1000, 0xffffffff80200000n, 0x200000, TEXT.length, TEXT.length, 0x200000);
  ph(1, 1, 6, 0x2000, 0xffffffff80400000n, 0x400000, DATA.length, 0x1000, 0x1000);
  ph(2, 4, 4, 0x1800, 0xffffffff80201800n, 0x201800, n.length, n.length, 4);
  img.set(TEXT, 0x1000);
  img.set(n, 0x1800);
  img.set(DATA, 0x2000);
  patch(dv);
  return img;
}
const PH = (i: number, field: number): number => 64 + i * 56 + field;
const [P_TYPE, P_FLAGS, P_OFFSET, P_PADDR, P_FILESZ, P_MEMSZ, P_ALIGN] = [0, 4, 8, 24, 32, 40, 48];

describe('parseElf', () => {
  it('reads the entry, the PT_LOAD segments and the PVH note', () => {
    const k = parseElf(elfFile());
    expect(k.entry).toBe(0x200010);
    expect(k.pvhEntry).toBe(0x200050);
    expect(k.alignment).toBe(0x200000);
    expect(k.segments).toEqual([
      { paddr: 0x200000, filesz: 0x100, memsz: 0x100, offset: 0x1000, flags: 5, align: 0x200000 },
      { paddr: 0x400000, filesz: 0x80, memsz: 0x1000, offset: 0x2000, flags: 6, align: 0x1000 },
    ]);
    expect(parseElf(elfFile(undefined, 4)).pvhEntry).toBe(0x200050); // a 4-byte desc too
  });

  it('tells an ELF file from a bzImage', () => {
    expect(isElf(elfFile())).toBe(true);
    expect(isElf(makeBzImage())).toBe(false);
    expect(isElf(new Uint8Array([0x7f, 0x45]))).toBe(false);
  });

  const big = (o: number, v: bigint | number) => (dv: DataView) => dv.setBigUint64(o, BigInt(v), true);
  const cases: [string, Uint8Array, RegExp][] = [
    ['a file shorter than the header', new Uint8Array(63), /63 bytes is too short/],
    ['no magic', elfFile((dv) => dv.setUint8(0, 0)), /no ELF magic/],
    ['ELFCLASS32', elfFile((dv) => dv.setUint8(4, 1)), /EI_CLASS is 1, not ELFCLASS64/],
    ['big-endian', elfFile((dv) => dv.setUint8(5, 2)), /EI_DATA is 2, not little-endian/],
    ['EI_VERSION 0', elfFile((dv) => dv.setUint8(6, 0)), /EI_VERSION is 0/],
    ['ET_DYN', elfFile((dv) => dv.setUint16(16, 3, true)), /e_type is 3, not ET_EXEC/],
    ['i386', elfFile((dv) => dv.setUint16(18, 3, true)), /e_machine is 3, not EM_X86_64/],
    ['e_version 0', elfFile((dv) => dv.setUint32(20, 0, true)), /e_version is 0/],
    ['a 52-byte ELF header', elfFile((dv) => dv.setUint16(52, 52, true)), /e_ehsize is 52/],
    ['32-byte program headers', elfFile((dv) => dv.setUint16(54, 32, true)), /e_phentsize is 32/],
    ['no program headers', elfFile((dv) => dv.setUint16(56, 0, true)), /e_phnum is 0/],
    ['PN_XNUM program headers', elfFile((dv) => dv.setUint16(56, 0xffff, true)), /65535 program headers; at most 64/],
    ['one header too many', elfFile((dv) => dv.setUint16(56, ELF_MAX_PHDRS + 1, true)), /65 program headers; at most 64/],
    ['program headers past the end', elfFile(big(32, 0x3000 - 3 * 56 + 1)), /program headers at 0x2f59 \(3 x 56 bytes\) are outside the 12288-byte file/],
    ['program headers inside the ELF header', elfFile(big(32, 8)), /program headers at 0x8 .* are outside/],
    ['an e_phoff past 2^53', elfFile(big(32, 1n << 63n)), /e_phoff 0x8000000000000000 is out of range/],
    ['a segment past the end of the file', elfFile(big(PH(1, P_FILESZ), 0x1001)), /segment 1's file bytes 0x2000\+0x1001 run past the end/],
    ['a note segment past the end of the file', elfFile(big(PH(2, P_OFFSET), 0x2fff)), /segment 2's file bytes 0x2fff\+.* run past the end/],
    ['a huge p_offset', elfFile(big(PH(0, P_OFFSET), 0xffffffffffffff00n)), /segment 0 p_offset .* is out of range/],
    ['p_filesz > p_memsz', elfFile(big(PH(0, P_MEMSZ), 0xff)), /segment 0 has p_filesz 0x100 > p_memsz 0xff/],
    ['a segment below 1 MiB', elfFile(big(PH(1, P_PADDR), 0x7000)), /segment 1 at 0x7000 is below 1 MiB/],
    ['a segment ending above the first GiB', elfFile(big(PH(1, P_PADDR), 0x3ffff800)), /segment 1 at 0x3ffff800\+0x1000 ends above the identity-mapped first GiB/],
    ['overlapping segments', elfFile(big(PH(1, P_PADDR), 0x2000f0)), /segments at 0x200000\+0x100 and 0x2000f0\+0x1000 overlap/],
    ['a p_align that is not a power of two', elfFile(big(PH(0, P_ALIGN), 0x30000)), /p_align 0x30000 is not a power of two/],
    ['no PT_LOAD', elfFile((dv) => [0, 1].forEach((i) => dv.setUint32(PH(i, P_TYPE), 6, true))), /no PT_LOAD segment/],
    ['a virtual e_entry', elfFile(big(24, 0xffffffff80200010n)), /e_entry 0xffffffff80200010 is not inside .* \(a virtual address\?/],
    ['an e_entry in the bss', elfFile(big(24, 0x400100)), /e_entry 0x400100 is not inside the file bytes/],
    ['an e_entry in a data segment', elfFile(big(24, 0x400010)), /e_entry 0x400010 is in a segment that is not executable/],
    ['an e_entry in no segment', elfFile(big(24, 0x300000)), /e_entry 0x300000 is not inside/],
    ['a note overrunning its segment', elfFile((dv) => dv.setUint32(0x1800 + 20 + 4, 0x1000, true)), /overruns its segment|runs past the end of its segment/],
    ['a note whose padding overruns', elfFile((dv) => dv.setBigUint64(PH(2, P_FILESZ), 18n, true)), /note at \+0x0 runs past the end of its segment/],
    ['a PVH note of 2 bytes', elfFile((dv) => dv.setUint32(0x1800 + 24, 2, true)), /PVH entry note has a 2-byte description/],
  ];
  it.each(cases)('refuses %s', (_what, image, message) => {
    expect(() => parseElf(image)).toThrow(message);
    try {
      parseElf(image);
    } catch (e) {
      expect(e).toMatchObject({ code: 'BAD_KERNEL' });
    }
  });

  it('skips program headers that are neither PT_LOAD nor PT_NOTE, and empty PT_LOADs', () => {
    // PT_GNU_STACK at a nonsense address, and a PT_LOAD with p_memsz 0 below 1 MiB.
    const k = parseElf(
      elfFile((dv) => {
        dv.setUint32(PH(2, P_TYPE), 0x6474e551, true);
        dv.setBigUint64(PH(2, P_PADDR), 0n, true);
      }),
    );
    expect(k.pvhEntry).toBeUndefined();
    const empty = elfFile((dv) => {
      dv.setBigUint64(PH(1, P_PADDR), 0x1000n, true);
      dv.setBigUint64(PH(1, P_FILESZ), 0n, true);
      dv.setBigUint64(PH(1, P_MEMSZ), 0n, true);
    });
    expect(parseElf(empty).segments).toHaveLength(1);
    expect(parseElf(elfFile((dv) => dv.setUint32(PH(0, P_FLAGS), 7, true))).segments[0]?.flags).toBe(7);
  });
});

describe('loadElf', () => {
  it('puts each segment at p_paddr, zeroes the bss, and builds the zero page', () => {
    const mem = ram(16 << 20);
    const initrd = new Uint8Array(10000).fill(7);
    const k = loadElf(mem, { image: elfFile(), cmdline: 'console=ttyS0 panic=-1', initrd });
    expect(k.format).toBe('elf');
    expect(k.entry).toBe(0x200010);
    expect(k.kernelEnd).toBe(0x401000);
    // text: exactly its bytes, nothing past p_memsz
    expect(mem.slice(0x200000, 0x100)).toEqual(TEXT);
    expect(mem.slice(0x1fffff, 1)[0]).toBe(0xcc);
    expect(mem.slice(0x200100, 1)[0]).toBe(0xcc);
    // data: file bytes, then zeroes up to p_memsz, then untouched
    expect(mem.slice(0x400000, 0x80)).toEqual(DATA);
    expect(mem.slice(0x400080, 0xf80).every((b) => b === 0)).toBe(true);
    expect(mem.slice(0x401000, 1)[0]).toBe(0xcc);
    // the note segment is not loaded
    expect(mem.slice(0x201800, 4).every((b) => b === 0xcc)).toBe(true);
    // command line, NUL terminated
    expect(new TextDecoder().decode(mem.slice(0x20000, 22))).toBe('console=ttyS0 panic=-1');
    expect(mem.slice(0x20000 + 22, 1)[0]).toBe(0);
    // initrd: page aligned, as high as RAM allows
    expect(k.initrd).toEqual({ addr: (16 << 20) - 12288, size: 10000 });
    expect(mem.slice(k.initrd?.addr ?? 0, 10000).every((b) => b === 7)).toBe(true);

    const zp = mem.slice(0x7000, 4096);
    const dv = new DataView(zp.buffer, zp.byteOffset, 4096);
    expect(dv.getUint16(0x1fe, true)).toBe(0xaa55); // boot_flag
    expect(dv.getUint32(0x202, true)).toBe(0x53726448); // header "HdrS"
    expect(dv.getUint16(0x206, true)).toBe(0x020f); // version 2.15
    expect(dv.getUint8(0x210)).toBe(0xff); // type_of_loader: undefined
    expect(dv.getUint8(0x211)).toBe(0x01); // loadflags: LOADED_HIGH
    expect(dv.getUint32(0x218, true)).toBe((16 << 20) - 12288); // ramdisk_image
    expect(dv.getUint32(0x21c, true)).toBe(10000); // ramdisk_size
    expect(dv.getUint32(0x228, true)).toBe(0x20000); // cmd_line_ptr
    expect(dv.getUint32(0x230, true)).toBe(0x200000); // kernel_alignment
    expect(dv.getUint32(0x238, true)).toBe(22); // cmdline_size
    expect(dv.getUint8(0x1ef)).toBe(0); // sentinel: Linux would otherwise wipe fields
    expect(dv.getUint8(0x1e8)).toBe(2); // e820_entries
    // e820[0]: 0 .. EBDA, RAM; e820[1]: 1 MiB .. 16 MiB, RAM
    expect([dv.getBigUint64(0x2d0, true), dv.getBigUint64(0x2d8, true), dv.getUint32(0x2e0, true)]).toEqual([0n, 0x9fc00n, 1]);
    expect([dv.getBigUint64(0x2e4, true), dv.getBigUint64(0x2ec, true), dv.getUint32(0x2f4, true)]).toEqual([0x100000n, BigInt((16 << 20) - 0x100000), 1]);
    // every other byte of the zero page is zero (built from scratch)
    const set = new Set([0x1e8, 0x1fe, 0x1ff, 0x202, 0x203, 0x204, 0x205, 0x206, 0x207, 0x210, 0x211, 0x218, 0x219, 0x21a, 0x21b, 0x21c, 0x21d, 0x228, 0x229, 0x22a, 0x230, 0x231, 0x232, 0x238]);
    for (let i = 0x2d0; i < 0x2d0 + 40; i++) set.add(i);
    const stray = [...zp.entries()].filter(([i, b]) => b !== 0 && !set.has(i));
    expect(stray).toEqual([]);
  });

  it('leaves the zero page without an initrd when none is given', () => {
    const mem = ram(8 << 20);
    const k = loadElf(mem, { image: elfFile(), cmdline: '' });
    expect(k.initrd).toBeUndefined();
    const dv = new DataView(mem.slice(0x7000, 4096).buffer, 0x7000, 4096);
    expect([dv.getUint32(0x218, true), dv.getUint32(0x21c, true), dv.getUint32(0x238, true)]).toEqual([0, 0, 0]);
    expect(mem.slice(0x20000, 1)[0]).toBe(0);
  });

  it('refuses kernels, command lines and initrds that do not fit, before writing anything', () => {
    const small = ram(3 << 20); // the data segment at 4 MiB is outside
    expect(() => loadElf(small, { image: elfFile(), cmdline: '' })).toThrow(/kernel segment 0x400000\+0x1000 is outside guest RAM/);
    expect(small.slice(0x200000, 0x100).every((b) => b === 0xcc)).toBe(true); // nothing written
    const mem = ram(8 << 20);
    expect(() => loadElf(mem, { image: elfFile(), cmdline: 'x'.repeat(2048) })).toThrow(/2048 bytes; the kernel takes 2047/);
    expect(() => loadElf(mem, { image: elfFile(), cmdline: 'a\0b' })).toThrow(/NUL/);
    // 8 MiB of RAM, kernel up to 0x401000: 4 MiB of initrd cannot go above it
    expect(() => loadElf(mem, { image: elfFile(), cmdline: '', initrd: new Uint8Array(4 << 20) })).toThrow(
      /initrd of 4194304 bytes does not fit between the kernel's end 0x401000 and 0x800000/,
    );
    expect(mem.slice(0x200000, 0x100).every((b) => b === 0xcc)).toBe(true); // still nothing written
    expect(mem.slice(0x7000, 4096).every((b) => b === 0xcc)).toBe(true); // not even the zero page
    expect(() => loadElf(mem, { image: makeBzImage(), cmdline: '' })).toThrow(/no ELF magic/);
  });
});

// tools/kernel/vmlinux on synthetic bzImages, one per compression format Linux builds with.
const script = new URL('../../../../tools/kernel/vmlinux', import.meta.url).pathname;
const has = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const work = mkdtempSync(join(tmpdir(), 'hyperkit-elf-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The protected-mode part of a bzImage: 0x40 bytes of "decompressor", then the payload. */
function bzImageWith(payload: Uint8Array): Uint8Array {
  const pm = new Uint8Array(0x40 + payload.length);
  pm.set(payload, 0x40);
  const img = makeBzImage();
  const out = new Uint8Array(5 * 512 + pm.length);
  out.set(img.subarray(0, 5 * 512));
  out.set(pm, 5 * 512);
  const dv = new DataView(out.buffer);
  dv.setUint32(0x248, 0x40, true); // payload_offset
  dv.setUint32(0x24c, payload.length, true); // payload_length
  return out;
}
/** What the kernel build does for xz/zstd/lz4: the stream, then the size as le32. */
function sizeAppended(stream: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(stream.length + 4);
  out.set(stream);
  new DataView(out.buffer).setUint32(stream.length, size, true);
  return out;
}
function compress(argv: string[], data: Uint8Array): Uint8Array {
  return new Uint8Array(execFileSync(argv[0] as string, argv.slice(1), { input: data, maxBuffer: 1 << 24 }));
}
function extract(name: string, image: Uint8Array): { status: number | null; stderr: string; out: string } {
  const src = join(work, name);
  writeFileSync(src, image);
  const r = spawnSync('bash', [script, src], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr, out: r.stdout.trim() };
}

describe('tools/kernel/vmlinux', () => {
  const elf = elfFile();
  const formats: [string, string, () => Uint8Array][] = [
    ['gzip', 'gzip', () => new Uint8Array(gzipSync(elf))],
    ['xz', 'xz', () => sizeAppended(compress(['xz', '--check=crc32', '-c'], elf), elf.length)],
    ['zstd', 'zstd', () => sizeAppended(compress(['zstd', '-q', '-c'], elf), elf.length)],
    ['lz4', 'lz4', () => sizeAppended(compress(['lz4', '-q', '-l', '-c'], elf), elf.length)],
  ];
  for (const [format, tool, payload] of formats) {
    if (!has(tool)) console.log(`skipping the ${format} extraction test: '${tool}' is not installed`);
    it.skipIf(!has(tool))(`extracts a ${format}-compressed kernel, which then parses`, () => {
      const r = extract(`bz-${format}`, bzImageWith(payload()));
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.out).toBe(join(work, `bz-${format}.vmlinux`));
      const got = new Uint8Array(readFileSync(r.out));
      expect(got).toEqual(elf);
      expect(parseElf(got).entry).toBe(0x200010);
    });
  }

  it.skipIf(!has('xz'))('refuses a payload whose size is not the one the kernel appended', () => {
    const wrongSize = extract('bz-size', bzImageWith(sizeAppended(compress(['xz', '-c'], elf), elf.length + 1)));
    expect(wrongSize.status).toBe(1);
    expect(wrongSize.stderr).toMatch(/the xz payload gave 12288 bytes, but the kernel says 12289/);
  });

  it('refuses an unsupported or unknown compression, a non-ELF payload, a non-bzImage and a payload outside the file', () => {
    const bzip2 = extract('bz-bzip2', bzImageWith(Uint8Array.of(0x42, 0x5a, 0x68, 0x39, 0, 0, 0, 0, 0, 0)));
    expect(bzip2.stderr).toMatch(/bzip2-compressed kernel: not supported/);
    const junk = extract('bz-junk', bzImageWith(new Uint8Array(16).fill(0x33)));
    expect(junk.stderr).toMatch(/unknown compression, payload starts with 333333333333/);
    const notElf = extract('bz-text', bzImageWith(new Uint8Array(gzipSync(new Uint8Array(100).fill(0x41)))));
    expect(notElf.stderr).toMatch(/not an ELF file/);
    const elfItself = extract('plain-elf', elf);
    expect(elfItself.stderr).toMatch(/no 0xAA55 boot flag/);
    const outside = extract('bz-outside', bzImageWith(new Uint8Array(gzipSync(elf))).map((b, i) => (i === 0x24d ? 0x7f : b)));
    expect(outside.stderr).toMatch(/payload at .* is outside the .*-byte file/);
    for (const r of [bzip2, junk, notElf, elfItself, outside]) expect(r.status).toBe(1);
  });
});

// Debian's kernel, fetched by tools/kernel/fetch and decompressed by tools/kernel/vmlinux
// (the setup script fetches neither: ~70 MB; the test says so when it is absent).
const vmlinux = (() => {
  try {
    return execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    return undefined;
  }
})();
if (!vmlinux) console.log("skipping the Debian vmlinux test: tools/kernel/vmlinux could not fetch or extract Debian's kernel");

describe.skipIf(!vmlinux)("Debian's vmlinux", () => {
  it('parses, has its entry in an executable PT_LOAD segment, and loads', () => {
    const image = new Uint8Array(readFileSync(vmlinux as string));
    const k = parseElf(image);
    // Linux links vmlinux with ENTRY(phys_startup_64): the entry is physical, at the start
    // of the first segment (CONFIG_PHYSICAL_START, 16 MiB on Debian).
    const first = k.segments[0];
    expect(k.entry).toBe(first?.paddr);
    const home = k.segments.find((s) => k.entry >= s.paddr && k.entry < s.paddr + s.filesz);
    expect(home?.flags ?? 0).toSatisfy((f: number) => (f & 1) === 1);
    expect(k.alignment).toBe(0x200000); // CONFIG_PHYSICAL_ALIGN
    expect(k.pvhEntry).toBeGreaterThan(k.entry); // CONFIG_PVH: pvh_start_xen, in .text
    const mem = ram(256 << 20);
    const loaded = loadElf(mem, { image, cmdline: 'console=ttyS0', initrd: new Uint8Array(4096).fill(1) });
    // the entry's bytes are the file's bytes at the matching offset
    const off = (home?.offset ?? 0) + k.entry - (home?.paddr ?? 0);
    expect(mem.slice(k.entry, 64)).toEqual(image.subarray(off, off + 64));
    expect(loaded.initrd?.addr).toBeGreaterThanOrEqual(loaded.kernelEnd);
  });
});

const hasKvm = process.platform === 'linux' && existsSync('/dev/kvm');
const built = existsSync(new URL('../../dist/vcpu/thread-worker.js', import.meta.url));

describe.skipIf(!vmlinux || !hasKvm || !built)("Debian's vmlinux on /dev/kvm", () => {
  it(
    'createVm boots the ELF through startup_64 with the zero page built from scratch: Linux prints our command line and e820 map',
    async () => {
      // On this machine's emulating /dev/kvm the boot console speaks after ~15 s; the test
      // stops there (the nested sandbox boots the same file to /init: nested-virtio.test.ts).
      const cmdline = 'console=ttyS0 earlyprintk=serial,ttyS0 noxsave nokaslr reboot=k panic=-1';
      let text = '';
      const vm = await createVm({
        memoryMiB: 256,
        kernel: vmlinux as string,
        cmdline,
        hideCpuFeatures: ['xsave', 'cmpxchg16b'],
        serial: (d) => {
          text += Buffer.from(d).toString('latin1');
          if (text.includes('bootconsole [earlyser0] enabled')) void vm.stop();
        },
      });
      vm.start();
      const timer = setTimeout(() => void vm.stop(), 90_000);
      const end = await vm.wait();
      clearTimeout(timer);
      expect(end, text).toEqual({ reason: 'stopped' });
      expect(text).toMatch(/Linux version 6\./);
      expect(text).toContain(`Command line: ${cmdline}`);
      expect(text).toContain('BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable');
      expect(text).toContain('BIOS-e820: [mem 0x0000000000100000-0x000000000fffffff] usable');
    },
    120_000,
  );
});
