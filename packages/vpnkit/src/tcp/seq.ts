/**
 * Modular 32-bit sequence-number arithmetic (RFC 9293 §3.4).
 *
 *   "It is essential to remember that the actual sequence number space is
 *   finite, though very large.  This space ranges from 0 to 2**32 - 1.
 *   Since the space is finite, all arithmetic dealing with sequence numbers
 *   must be performed modulo 2**32. ... The symbol "=<" means "less than or
 *   equal" (modulo 2**32)."
 *
 * Comparisons use the signed 32-bit difference (the "serial number
 * arithmetic" of RFC 1982): `a < b` iff `(a - b) mod 2^32` is in
 * [2^31, 2^32).  Sequence numbers are held as unsigned integers in a JS
 * number, always normalized with `>>> 0`.
 */

/** `(a + n) mod 2^32`. `n` may be negative. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** The signed distance `a - b` in (-2^31, 2^31]. */
export function seqSub(a: number, b: number): number {
  return (a - b) | 0;
}

export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

export function seqGe(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

export function seqMax(a: number, b: number): number {
  return seqGe(a, b) ? a : b;
}

export function seqMin(a: number, b: number): number {
  return seqLe(a, b) ? a : b;
}

/** `lo =< x < hi` (modulo 2^32). */
export function seqInRange(x: number, lo: number, hi: number): boolean {
  return seqLe(lo, x) && seqLt(x, hi);
}
