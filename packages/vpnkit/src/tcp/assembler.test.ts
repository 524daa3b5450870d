import { describe, expect, it } from 'vitest';
import { Assembler } from './assembler.js';

describe('Assembler', () => {
  it('merges ranges and releases the front', () => {
    const a = new Assembler(4, 1000);
    expect(a.add(10, 20)).toBe(true);
    expect(a.add(30, 40)).toBe(true);
    expect(a.add(20, 30)).toBe(true);
    expect(a.list()).toEqual([{ start: 10, end: 40 }]);
    expect(a.removeFront()).toBe(0);
    expect(a.add(0, 10)).toBe(true);
    expect(a.removeFront()).toBe(40);
    expect(a.isEmpty).toBe(true);
  });
  it('bounds the number of holes and bytes', () => {
    const a = new Assembler(2, 25);
    expect(a.add(10, 20)).toBe(true);
    expect(a.add(30, 40)).toBe(true);
    expect(a.add(50, 60)).toBe(false);
    expect(a.rangeCount).toBe(2);
    expect(a.add(40, 50)).toBe(false); // 30 bytes > 25
    expect(a.bytes).toBe(20);
  });
  it('reports SACK blocks most recent first', () => {
    const a = new Assembler(8, 1000);
    a.add(10, 20);
    a.add(30, 40);
    a.add(50, 60);
    a.add(35, 45);
    expect(a.sackBlocks(3)).toEqual([
      { start: 30, end: 45 },
      { start: 50, end: 60 },
      { start: 10, end: 20 },
    ]);
    a.shift(15);
    expect(a.list()).toEqual([
      { start: 0, end: 5 },
      { start: 15, end: 30 },
      { start: 35, end: 45 },
    ]);
  });
});
