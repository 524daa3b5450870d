/**
 * A small x86 decoder for the instructions that touch MMIO in practice: on an EPT
 * violation VMX reports the guest-physical address and whether it was a read or a write,
 * but not the size, the register or the instruction length, so the VMM decodes the
 * instruction at RIP (KVM does the same in its emulator). Intel SDM vol. 2, 2.1-2.2:
 *
 *   [legacy prefixes] [REX 0x40-0x4f, 64-bit mode] opcode[1-2] ModRM [SIB] [disp] [imm]
 *
 *   88 /r        MOV r/m8, r8          (store)     8a /r       MOV r8, r/m8       (load)
 *   89 /r        MOV r/m16/32/64, r    (store)     8b /r       MOV r, r/m         (load)
 *   c6 /0 ib     MOV r/m8, imm8        (store)     c7 /0 iw/id MOV r/m, imm16/32  (store)
 *   0f b6 /r     MOVZX r, r/m8         (load)      0f b7 /r    MOVZX r, r/m16     (load)
 *   a0/a1 moffs  MOV AL/eAX, moffs     (load)      a2/a3 moffs MOV moffs, AL/eAX  (store)
 *
 * That covers Linux's readb/w/l/q and writeb/w/l/q. Anything else (string moves to MMIO,
 * read-modify-write ALU ops, REP prefixes, VEX) returns undefined: the caller reports an
 * emulation failure rather than guess.
 */

/** Default operand/address size of the code segment: 2 (real/16-bit), 4 (32-bit), 8 (64-bit mode). */
export type CpuMode = 2 | 4 | 8;

/** A general-purpose register in instruction-encoding order (0 rax, 1 rcx, ... 15 r15). */
export interface GprOperand {
  reg: number;
  /** AH, CH, DH or BH: bits 15:8 of register `reg` (0-3), only without REX. */
  high8: boolean;
}

export type MmioInstruction =
  | { op: 'store'; size: 1 | 2 | 4 | 8; source: GprOperand | { imm: bigint }; length: number }
  | {
      op: 'load';
      /** Bytes read from memory. */
      size: 1 | 2 | 4 | 8;
      dest: GprOperand;
      /** Bytes written to the register (see `writeGpr`): larger than `size` for MOVZX. */
      destSize: 1 | 2 | 4 | 8;
      length: number;
    };

const MAX_LENGTH = 15;

export function decodeMmioInstruction(bytes: Uint8Array, mode: CpuMode): MmioInstruction | undefined {
  let i = 0;
  let opsize16 = false;
  let addr67 = false;
  const at = (k: number): number | undefined => (k < bytes.length && k < MAX_LENGTH ? bytes[k] : undefined);

  // Legacy prefixes: segment overrides and LOCK change nothing the EPT violation has not
  // already told us (the address); REP/REPNE forms are string instructions we refuse.
  for (;;) {
    const b = at(i);
    if (b === undefined) return undefined;
    if (b === 0x66) opsize16 = true;
    else if (b === 0x67) addr67 = true;
    else if (b === 0x2e || b === 0x36 || b === 0x3e || b === 0x26 || b === 0x64 || b === 0x65 || b === 0xf0) {
      /* ignored */
    } else break;
    i++;
  }
  let rex = 0;
  const first = at(i);
  if (mode === 8 && first !== undefined && (first & 0xf0) === 0x40) {
    rex = first;
    i++;
  }
  const rexW = (rex & 8) !== 0;
  const rexR = (rex & 4) !== 0 ? 8 : 0;

  const operandSize: 2 | 4 | 8 = rexW ? 8 : mode === 2 ? (opsize16 ? 4 : 2) : opsize16 ? 2 : 4;
  const addressSize: 2 | 4 | 8 = mode === 8 ? (addr67 ? 4 : 8) : mode === 4 ? (addr67 ? 2 : 4) : addr67 ? 4 : 2;

  let opcode = at(i++);
  if (opcode === undefined) return undefined;
  let twoByte = false;
  if (opcode === 0x0f) {
    twoByte = true;
    opcode = at(i++);
    if (opcode === undefined) return undefined;
  }

  const gpr8 = (reg: number): GprOperand =>
    // Without REX, 8-bit register numbers 4-7 name AH, CH, DH, BH.
    rex === 0 && reg >= 4 && reg < 8 ? { reg: reg - 4, high8: true } : { reg, high8: false };

  if (!twoByte && opcode >= 0xa0 && opcode <= 0xa3) {
    const end = i + addressSize;
    if (end > Math.min(bytes.length, MAX_LENGTH)) return undefined;
    const size = opcode & 1 ? operandSize : 1;
    const rax = { reg: 0, high8: false };
    return opcode <= 0xa1
      ? { op: 'load', size, dest: rax, destSize: size, length: end }
      : { op: 'store', size, source: rax, length: end };
  }

  const modrm = at(i);
  if (modrm === undefined) return undefined;
  const mod = modrm >> 6;
  const regField = ((modrm >> 3) & 7) | rexR;
  const rm = modrm & 7;
  if (mod === 3) return undefined; // a register operand cannot have touched MMIO
  const memEnd = modrmEnd(bytes, i, mod, rm, addressSize);
  if (memEnd === undefined) return undefined;

  if (!twoByte) {
    switch (opcode) {
      case 0x88:
        return { op: 'store', size: 1, source: gpr8(regField), length: memEnd };
      case 0x89:
        return { op: 'store', size: operandSize, source: { reg: regField, high8: false }, length: memEnd };
      case 0x8a:
        return { op: 'load', size: 1, dest: gpr8(regField), destSize: 1, length: memEnd };
      case 0x8b:
        return { op: 'load', size: operandSize, dest: { reg: regField, high8: false }, destSize: operandSize, length: memEnd };
      case 0xc6:
      case 0xc7: {
        if ((modrm >> 3) & 7) return undefined; // only /0 is MOV
        const immSize = opcode === 0xc6 ? 1 : operandSize === 2 ? 2 : 4;
        const end = memEnd + immSize;
        if (end > Math.min(bytes.length, MAX_LENGTH)) return undefined;
        let imm = 0n;
        for (let k = immSize - 1; k >= 0; k--) imm = (imm << 8n) | BigInt(bytes[memEnd + k] ?? 0);
        // imm32 with REX.W is sign-extended to 64 bits.
        if (immSize === 4 && operandSize === 8) imm = BigInt.asUintN(64, BigInt.asIntN(32, imm));
        const size = opcode === 0xc6 ? 1 : operandSize;
        return { op: 'store', size, source: { imm }, length: end };
      }
      default:
        return undefined;
    }
  }
  if (opcode === 0xb6 || opcode === 0xb7) {
    return {
      op: 'load',
      size: opcode === 0xb6 ? 1 : 2,
      dest: { reg: regField, high8: false },
      destSize: operandSize,
      length: memEnd,
    };
  }
  return undefined;
}

/** Index just past ModRM, SIB and displacement, or undefined if the bytes run out. */
function modrmEnd(bytes: Uint8Array, modrmAt: number, mod: number, rm: number, addressSize: 2 | 4 | 8): number | undefined {
  let i = modrmAt + 1;
  let disp: number;
  if (addressSize === 2) {
    disp = mod === 1 ? 1 : mod === 2 || (mod === 0 && rm === 6) ? 2 : 0;
  } else {
    if (rm === 4) {
      const sib = bytes[i];
      if (sib === undefined) return undefined;
      i++;
      if (mod === 0 && (sib & 7) === 5) disp = 4;
      else disp = mod === 1 ? 1 : mod === 2 ? 4 : 0;
    } else {
      // mod 0, rm 5: disp32 (RIP-relative in 64-bit mode).
      disp = mod === 1 ? 1 : mod === 2 || (mod === 0 && rm === 5) ? 4 : 0;
    }
  }
  const end = i + disp;
  return end <= Math.min(bytes.length, MAX_LENGTH) ? end : undefined;
}

/**
 * The register after writing `value` to its low `size` bytes, as the CPU does: a 32-bit
 * write zero-extends to 64 bits, 8- and 16-bit writes keep the other bits; `high8` writes
 * bits 15:8.
 */
export function writeGpr(old: bigint, value: bigint, size: 1 | 2 | 4 | 8, high8 = false): bigint {
  switch (size) {
    case 8:
      return BigInt.asUintN(64, value);
    case 4:
      return value & 0xffff_ffffn;
    case 2:
      return (old & ~0xffffn) | (value & 0xffffn);
    case 1:
      return high8 ? (old & ~0xff00n) | ((value & 0xffn) << 8n) : (old & ~0xffn) | (value & 0xffn);
  }
}

/** The low `size` bytes of a register (bits 15:8 for `high8`). */
export function readGpr(value: bigint, size: 1 | 2 | 4 | 8, high8 = false): bigint {
  const v = high8 ? value >> 8n : value;
  return BigInt.asUintN(size * 8, v);
}
