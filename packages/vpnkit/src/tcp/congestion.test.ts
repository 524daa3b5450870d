import { describe, expect, it } from 'vitest';
import { NewReno } from './congestion.js';

describe('NewReno (RFC 5681 / RFC 6582)', () => {
  it('slow start then congestion avoidance', () => {
    const c = new NewReno(1000, 0, 6000);
    expect(c.cwnd).toBe(4000);
    expect(c.onNewAck(1001, 1000, 0)).toBe('normal');
    expect(c.cwnd).toBe(5000);
    c.onNewAck(2001, 1000, 0);
    expect(c.cwnd).toBe(6000);
    c.onNewAck(3001, 1000, 0);
    expect(c.cwnd).toBe(6166);
  });
  it('fast retransmit on the third dup ACK, partial and full ACKs', () => {
    const c = new NewReno(1000, 0);
    c.cwnd = 10000;
    expect(c.onDupAck(1001, 10000, 11001)).toBe(false);
    expect(c.onDupAck(1001, 10000, 11001)).toBe(false);
    expect(c.onDupAck(1001, 10000, 11001)).toBe(true);
    expect(c.ssthresh).toBe(5000);
    expect(c.cwnd).toBe(8000);
    expect(c.recover).toBe(11000);
    c.onDupAck(1001, 10000, 11001);
    expect(c.cwnd).toBe(9000);
    expect(c.onNewAck(3001, 2000, 8000)).toBe('partial');
    expect(c.cwnd).toBe(8000);
    expect(c.onNewAck(11001, 8000, 0)).toBe('full');
    expect(c.cwnd).toBe(2000);
    expect(c.inRecovery).toBe(false);
  });
  it('does not re-enter recovery for dup ACKs below recover; timeout resets cwnd', () => {
    const c = new NewReno(1000, 0xfffff000);
    c.onTimeout(8000, 0x10); // recover = 0xf across the wrap
    expect(c.cwnd).toBe(1000);
    expect(c.ssthresh).toBe(4000);
    for (let i = 0; i < 3; i++) expect(c.onDupAck(0x5, 4000, 0x10)).toBe(false);
  });
  it('enterRecovery (SACK loss detection) follows the third-dup-ACK rules once', () => {
    const c = new NewReno(1000, 0);
    c.cwnd = 10000;
    expect(c.enterRecovery(1001, 10000, 11001)).toBe(true);
    expect(c).toMatchObject({ inRecovery: true, ssthresh: 5000, cwnd: 8000, recover: 11000 });
    expect(c.enterRecovery(1001, 10000, 11001)).toBe(false); // already recovering
    c.onNewAck(11001, 10000, 0);
    expect(c.inRecovery).toBe(false);
    expect(c.enterRecovery(11000, 0, 11001)).toBe(false); // does not cover more than recover
  });
});
