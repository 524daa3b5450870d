/**
 * Initial sequence numbers (RFC 9293 §3.4.1, RFC 6528) and a seeded
 * pseudo-random source for deterministic tests and simulations.
 *
 *   "A TCP implementation MUST use the above type of "clock" for clock-driven
 *   selection of initial sequence numbers (MUST-8), and SHOULD generate its
 *   initial sequence numbers with the expression:
 *       ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
 *   where M is the 4 microsecond timer, and F() is a pseudorandom function
 *   (PRF) of the connection's identifying parameters ("localip, localport,
 *   remoteip, remoteport") and a secret key ("secretkey") (SHLD-1)."
 *
 * Protocol code reads no clock and owns no entropy: the caller injects a
 * `RandomSource` (a CSPRNG in production, e.g. `crypto.randomInt`-backed;
 * `seededRandom` in tests) and passes `now`.  Every connection draws a fresh
 * 32-bit value, which is at least as unpredictable as F() with a secret key;
 * M keeps ISNs moving forward with time as the RFC asks.
 */

/** Returns an integer; only its low 32 bits are used. */
export type RandomSource = () => number;

/** ISN = M + random, with M = `now` (ms) in 4 µs ticks. */
export function generateIsn(random: RandomSource, now: number): number {
  const m = Math.floor(now * 250) % 0x1_0000_0000;
  return (m + (random() >>> 0)) >>> 0;
}

/**
 * A small deterministic PRNG (xorshift32) returning uint32 values.  Not
 * cryptographic: for tests and simulations only.
 */
export function seededRandom(seed: number): RandomSource {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}
