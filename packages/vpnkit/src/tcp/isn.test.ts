import { describe, expect, it } from 'vitest';
import { generateIsn, seededRandom } from './isn.js';

describe('ISN', () => {
  it('is deterministic for a seeded source and advances with time', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    expect(generateIsn(a, 0)).toBe(generateIsn(b, 0));
    const r = (): number => 0xfffffff0;
    expect(generateIsn(r, 0)).toBe(0xfffffff0);
    expect(generateIsn(r, 1)).toBe((0xfffffff0 + 250) >>> 0);
  });
});
