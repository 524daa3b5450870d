import { describe, expect, it } from 'vitest';
import { SackScoreboard } from './scoreboard.js';

describe('SackScoreboard', () => {
  it('merges blocks, clips them to (una, max], skips SACKed data', () => {
    const s = new SackScoreboard();
    s.add(2000, 3000, 1000, 10000);
    s.add(4000, 5000, 1000, 10000);
    s.add(3000, 3500, 1000, 10000); // adjacent: merged
    s.add(500, 1500, 1000, 10000); // clipped to una
    s.add(9000, 12000, 1000, 10000); // clipped to max
    expect(s.skip(1000)).toEqual({ seq: 1500, next: 2000 });
    expect(s.skip(1500)).toEqual({ seq: 1500, next: 2000 });
    expect(s.skip(2500)).toEqual({ seq: 3500, next: 4000 });
    expect(s.skip(9500)).toEqual({ seq: 10000, next: undefined });
    expect(s.highest).toBe(10000);
    expect(s.hasAbove(5000)).toBe(true);
    s.advance(3200);
    expect(s.skip(3200)).toEqual({ seq: 3500, next: 4000 });
    s.clear();
    expect(s.isEmpty).toBe(true);
  });
  it('works across sequence-number wrap-around', () => {
    const s = new SackScoreboard();
    const una = 0xffffff00;
    s.add(0xffffff80, 0x80, una, 0x1000);
    expect(s.skip(0xffffff80)).toEqual({ seq: 0x80, next: undefined });
    expect(s.skip(una)).toEqual({ seq: una, next: 0xffffff80 });
  });
  it('is bounded', () => {
    const s = new SackScoreboard(2);
    s.add(10, 20, 0, 100);
    s.add(30, 40, 0, 100);
    s.add(50, 60, 0, 100);
    expect(s.skip(10)).toEqual({ seq: 10, next: 30 }); // the oldest (lowest) was dropped
  });
});
