import { describe, expect, it } from 'vitest';
import { decodeMmioInstruction, readGpr, writeGpr } from './decode.js';

const b = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);

describe('decodeMmioInstruction: 64-bit mode', () => {
  it('decodes writel: `mov %ecx,(%rdx)` = 89 0a', () => {
    // 89 /r: ModRM 0a = mod 00, reg 001 (ecx), rm 010 ([rdx])
    expect(decodeMmioInstruction(b(0x89, 0x0a, 0x90), 8)).toEqual({ op: 'store', size: 4, source: { reg: 1, high8: false }, length: 2 });
  });

  it('decodes readq: `mov 0x10(%rdi),%rax` = 48 8b 47 10', () => {
    // REX.W, 8b /r, ModRM 47 = mod 01 (disp8), reg 000 (rax), rm 111 ([rdi]), disp8 0x10
    expect(decodeMmioInstruction(b(0x48, 0x8b, 0x47, 0x10), 8)).toEqual({
      op: 'load', size: 8, dest: { reg: 0, high8: false }, destSize: 8, length: 4,
    });
  });

  it('decodes REX.R registers and SIB + disp32: `mov %r9d,0x300(%rax,%rbx,1)` = 44 89 8c 18 00 03 00 00', () => {
    // REX.R (0x44), 89 /r, ModRM 8c = mod 10 (disp32), reg 001 (+8 = r9), rm 100 (SIB), SIB 18, disp32
    expect(decodeMmioInstruction(b(0x44, 0x89, 0x8c, 0x18, 0x00, 0x03, 0x00, 0x00), 8)).toEqual({
      op: 'store', size: 4, source: { reg: 9, high8: false }, length: 8,
    });
  });

  it('decodes RIP-relative addressing: `mov 0x100(%rip),%edx` = 8b 15 00 01 00 00', () => {
    expect(decodeMmioInstruction(b(0x8b, 0x15, 0x00, 0x01, 0x00, 0x00), 8)).toMatchObject({ op: 'load', size: 4, dest: { reg: 2 }, length: 6 });
  });

  it('decodes 8- and 16-bit forms: readb `mov (%rdi),%al`, writew `mov %ax,(%rsi)`, `mov %ah,(%rdi)`', () => {
    expect(decodeMmioInstruction(b(0x8a, 0x07), 8)).toEqual({ op: 'load', size: 1, dest: { reg: 0, high8: false }, destSize: 1, length: 2 });
    expect(decodeMmioInstruction(b(0x66, 0x89, 0x06), 8)).toEqual({ op: 'store', size: 2, source: { reg: 0, high8: false }, length: 3 });
    // 88 /r reg 100 without REX is AH
    expect(decodeMmioInstruction(b(0x88, 0x27), 8)).toEqual({ op: 'store', size: 1, source: { reg: 0, high8: true }, length: 2 });
    // ... and with any REX it is SPL
    expect(decodeMmioInstruction(b(0x40, 0x88, 0x27), 8)).toEqual({ op: 'store', size: 1, source: { reg: 4, high8: false }, length: 3 });
  });

  it('decodes immediates: `movl $0x12345678,(%rdi)`, `movq $-1,(%rdi)` (sign-extended), `movb $0x5a,4(%rdi)`', () => {
    expect(decodeMmioInstruction(b(0xc7, 0x07, 0x78, 0x56, 0x34, 0x12), 8)).toEqual({ op: 'store', size: 4, source: { imm: 0x12345678n }, length: 6 });
    expect(decodeMmioInstruction(b(0x48, 0xc7, 0x07, 0xff, 0xff, 0xff, 0xff), 8)).toEqual({
      op: 'store', size: 8, source: { imm: 0xffff_ffff_ffff_ffffn }, length: 7,
    });
    expect(decodeMmioInstruction(b(0xc6, 0x47, 0x04, 0x5a), 8)).toEqual({ op: 'store', size: 1, source: { imm: 0x5an }, length: 4 });
  });

  it('decodes movzx: `movzbl (%rdx),%eax` and `movzwl (%rdx),%ecx`', () => {
    expect(decodeMmioInstruction(b(0x0f, 0xb6, 0x02), 8)).toEqual({ op: 'load', size: 1, dest: { reg: 0, high8: false }, destSize: 4, length: 3 });
    expect(decodeMmioInstruction(b(0x0f, 0xb7, 0x0a), 8)).toEqual({ op: 'load', size: 2, dest: { reg: 1, high8: false }, destSize: 4, length: 3 });
  });

  it('decodes moffs forms: `movabs 0xfee00020,%eax` = a1 + 8-byte address', () => {
    expect(decodeMmioInstruction(b(0xa1, 0x20, 0x00, 0xe0, 0xfe, 0, 0, 0, 0), 8)).toEqual({
      op: 'load', size: 4, dest: { reg: 0, high8: false }, destSize: 4, length: 9,
    });
  });

  it('refuses what it does not emulate: rep movsb, register operands, ALU ops, truncated bytes', () => {
    expect(decodeMmioInstruction(b(0xf3, 0xa4), 8)).toBeUndefined(); // rep movsb
    expect(decodeMmioInstruction(b(0x89, 0xc8), 8)).toBeUndefined(); // mov %ecx,%eax: mod 11
    expect(decodeMmioInstruction(b(0x09, 0x07), 8)).toBeUndefined(); // or %eax,(%rdi)
    expect(decodeMmioInstruction(b(0xc7, 0x47, 0x10, 0x01), 8)).toBeUndefined(); // imm32 cut short
    expect(decodeMmioInstruction(b(0x8b, 0x80, 0x00), 8)).toBeUndefined(); // disp32 cut short
    expect(decodeMmioInstruction(b(0xc7, 0x0f, 0, 0, 0, 0), 8)).toBeUndefined(); // c7 /1 is not MOV
  });
});

describe('decodeMmioInstruction: 16- and 32-bit modes', () => {
  it('uses 16-bit operands and addressing in real mode: `mov %ax,(%bx)` = 89 07, `mov 0x1234,%ax` = 8b 06 34 12', () => {
    expect(decodeMmioInstruction(b(0x89, 0x07), 2)).toEqual({ op: 'store', size: 2, source: { reg: 0, high8: false }, length: 2 });
    // mod 00 rm 110 is disp16 with 16-bit addressing
    expect(decodeMmioInstruction(b(0x8b, 0x06, 0x34, 0x12), 2)).toMatchObject({ op: 'load', size: 2, length: 4 });
    // 66 in real mode selects 32-bit operands
    expect(decodeMmioInstruction(b(0x66, 0x89, 0x07), 2)).toMatchObject({ size: 4, length: 3 });
  });

  it('reads 0x40-0x4f as INC/DEC outside 64-bit mode, not REX', () => {
    expect(decodeMmioInstruction(b(0x48, 0x8b, 0x07), 4)).toBeUndefined();
  });

  it('uses a 4-byte moffs in 32-bit mode: `mov %eax,0xfee000b0` = a3 b0 00 e0 fe', () => {
    expect(decodeMmioInstruction(b(0xa3, 0xb0, 0x00, 0xe0, 0xfe), 4)).toEqual({ op: 'store', size: 4, source: { reg: 0, high8: false }, length: 5 });
  });
});

describe('writeGpr / readGpr', () => {
  const all = 0xffff_ffff_ffff_ffffn;
  it('zero-extends 32-bit writes and merges 8/16-bit ones, as the CPU does', () => {
    expect(writeGpr(all, 0x12n, 4)).toBe(0x12n);
    expect(writeGpr(all, 0x1234n, 2)).toBe(0xffff_ffff_ffff_1234n);
    expect(writeGpr(all, 0x56n, 1)).toBe(0xffff_ffff_ffff_ff56n);
    expect(writeGpr(all, 0x56n, 1, true)).toBe(0xffff_ffff_ffff_56ffn);
    expect(writeGpr(0n, -1n, 8)).toBe(all);
  });
  it('reads the low bytes or AH-style bits 15:8', () => {
    expect(readGpr(0x1122_3344_5566_7788n, 2)).toBe(0x7788n);
    expect(readGpr(0x1122_3344_5566_7788n, 1, true)).toBe(0x77n);
  });
});
