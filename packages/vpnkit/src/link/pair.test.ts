import { describe, expect, it } from 'vitest';
import { createLinkPair } from './pair.js';

describe('createLinkPair', () => {
  it('carries frames both ways, bounded, and ends on close', async () => {
    const [a, b] = createLinkPair({ capacity: 2, maxFrameSize: 100 });
    expect(a.send(Uint8Array.of(1))).toBe(true);
    expect(b.send(Uint8Array.of(2))).toBe(true);
    expect(a.send(new Uint8Array(101))).toBe(false);
    expect(a.send(Uint8Array.of(3))).toBe(true);
    expect(a.send(Uint8Array.of(4))).toBe(false); // b's inbox full
    const it = b.frames();
    expect((await it.next()).value).toEqual(Uint8Array.of(1));
    expect((await a.frames().next()).value).toEqual(Uint8Array.of(2));
    await a.close();
    expect(b.closed).toBe(true);
    expect((await it.next()).value).toEqual(Uint8Array.of(3));
    expect((await it.next()).done).toBe(true);
    expect(a.stats()).toMatchObject({ txFrames: 2, txDropped: 2, rxFrames: 1 });
    expect(a.send(Uint8Array.of(9))).toBe(false);
  });
});
