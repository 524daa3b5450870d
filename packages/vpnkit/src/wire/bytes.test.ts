import { describe, expect, it } from 'vitest';
import { bytesEqual, bytesToHex, getU16, getU32, hexToBytes, setU16, setU32 } from './bytes.js';
import { WireError } from './error.js';

describe('bytes', () => {
  it('reads and writes big-endian integers', () => {
    const b = new Uint8Array(6);
    setU16(b, 0, 0xbeef);
    setU32(b, 2, 0xdeadbeef);
    expect(bytesToHex(b)).toBe('beefdeadbeef');
    expect(getU16(b, 0)).toBe(0xbeef);
    expect(getU32(b, 2)).toBe(0xdeadbeef); // unsigned, not negative
  });

  it('reads zeros past the end instead of NaN or throwing', () => {
    const b = Uint8Array.of(0x12);
    expect(getU16(b, 0)).toBe(0x1200);
    expect(getU32(b, 5)).toBe(0);
  });

  it('converts hex, ignoring whitespace', () => {
    expect(bytesToHex(hexToBytes('45 00', '\n 00 73'))).toBe('45000073');
    expect(bytesToHex(Uint8Array.of(1, 0xab), ':')).toBe('01:ab');
    expect(() => hexToBytes('abc')).toThrow(WireError);
    expect(() => hexToBytes('zz')).toThrow(WireError);
  });

  it('compares byte arrays', () => {
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1))).toBe(false);
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false);
  });
});
