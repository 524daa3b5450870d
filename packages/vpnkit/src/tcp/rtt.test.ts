import { describe, expect, it } from 'vitest';
import { RttEstimator } from './rtt.js';

describe('RttEstimator (RFC 6298)', () => {
  it('starts at 1 s and applies the first and later samples', () => {
    const r = new RttEstimator();
    expect(r.rto).toBe(1000);
    r.sample(100); // srtt 100, rttvar 50 -> 300
    expect(r.rto).toBe(300);
    r.sample(100); // rttvar 37.5, srtt 100 -> 250
    expect(r.rto).toBe(250);
  });
  it('clamps to minRto and backs off up to maxRto', () => {
    const r = new RttEstimator({ initialRto: 1000, minRto: 200, maxRto: 5000, granularity: 1 });
    r.sample(10);
    expect(r.rto).toBe(200);
    r.backoff();
    expect(r.rto).toBe(400);
    r.backoff();
    r.backoff();
    r.backoff();
    expect(r.rto).toBe(3200);
    r.backoff();
    r.backoff();
    expect(r.rto).toBe(5000);
    r.resetBackoff();
    expect(r.rto).toBe(200);
  });
});
