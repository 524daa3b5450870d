import { describe, expect, it } from 'vitest';
import { Ipv6Address } from '../wire/index.js';
import { FlowTable, type FlowEnds } from './flow-table.js';

const A = Ipv6Address.parse;

describe('FlowTable', () => {
  it('finds flows by their four ends for both families, and never mixes families', () => {
    const t = new FlowTable<FlowEnds & { id: number }>();
    const v4 = { guestIp: 0xc0a84103, guestPort: 5000, peerIp: 0x08080808, peerPort: 53, id: 1 };
    const v6 = { guestIp: A('fd00::3'), guestPort: 5000, peerIp: A('2001:db8::8'), peerPort: 53, id: 2 };
    t.add(v4);
    t.add(v6);
    expect(t.get(0xc0a84103, 5000, 0x08080808, 53)?.id).toBe(1);
    expect(t.get(0xc0a84103 | 0, 5000, 0x08080808, 53)?.id).toBe(1); // signed and unsigned views of one address
    expect(t.get(A('fd00::3'), 5000, A('2001:db8::8'), 53)?.id).toBe(2);
    expect(t.get(A('fd00::3'), 5001, A('2001:db8::8'), 53)).toBeUndefined();
    expect(t.get(A('fd00::3'), 5000, A('2001:db8::9'), 53)).toBeUndefined();
    expect(t.get(A('::ffff:192.168.65.3'), 5000, A('::ffff:8.8.8.8'), 53)).toBeUndefined();
    expect(t.size).toBe(2);
    expect(t.delete({ ...v6 })).toBe(false); // another object with the same ends
    expect(t.delete(v6)).toBe(true);
    expect(t.get(A('fd00::3'), 5000, A('2001:db8::8'), 53)).toBeUndefined();
    expect(t.size).toBe(1);
  });

  it('holds many flows (colliding buckets included) and lists them all', () => {
    const t = new FlowTable<FlowEnds>();
    const g = A('fd00::3');
    for (let p = 0; p < 20000; p++) t.add({ guestIp: g, guestPort: p & 0xffff, peerIp: A(`2001:db8::${(p >> 8).toString(16)}`), peerPort: 80 });
    expect(t.size).toBe(20000);
    expect(t.list()).toHaveLength(20000);
    for (let p = 0; p < 20000; p += 997) expect(t.get(g, p, A(`2001:db8::${(p >> 8).toString(16)}`), 80)?.guestPort).toBe(p);
    for (const f of t.list()) t.delete(f);
    expect(t.size).toBe(0);
  });
});
