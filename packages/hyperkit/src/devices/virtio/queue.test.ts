import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../../memory/guest-memory.js';
import { VirtqueueDriver } from '../../testing/virtqueue.js';
import { QueueError, SplitQueue, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from './queue.js';

const MiB = 1 << 20;
const DESC = 0x1000;
const AVAIL = 0x2000;
const USED = 0x3000;
const SIZE = 8;

/** A 1 MiB guest and the test kit's driver, which writes descriptors and rings as a guest does. */
function setup(opts: { eventIdx?: boolean; indirect?: boolean } = {}, reuse?: Uint8Array) {
  const bytes = reuse ?? new Uint8Array(MiB);
  if (reuse !== undefined) reuse.fill(0, 0, 0x50000); // rings, tables and test buffers
  const mem = new GuestMemory([{ gpa: 0, hostAddress: 0n, bytes }]);
  const dv = new DataView(bytes.buffer);
  const driver = new VirtqueueDriver(mem, { size: SIZE, descTable: DESC, availRing: AVAIL, usedRing: USED, buffers: { addr: 0x60000, size: 0x10000 } });
  const q = new SplitQueue(mem, { size: SIZE, descTable: DESC, availRing: AVAIL, usedRing: USED, ...opts });
  const desc = (i: number, addr: number, len: number, flags: number, next = 0, table = DESC): void => driver.desc(i, addr, len, flags, next, table);
  const offer = (head: number): void => driver.offer(head);
  return { bytes, dv, q, desc, offer, mem, driver };
}

describe('SplitQueue with the test kit driver', () => {
  it('round-trips well-formed chains: readable bytes in, device replies and used lengths out, in order', () => {
    const { q, driver } = setup();
    for (let round = 0; round < 3 * SIZE; round++) {
      const head = driver.add([new Uint8Array([round, 1]), new Uint8Array([2, 3, 4])], [8]);
      const c = q.pop();
      expect(c?.head).toBe(head);
      expect(c?.readableLen).toBe(5);
      expect([...Buffer.concat((c?.readable ?? []).map((b) => Buffer.from(b)))]).toEqual([round, 1, 2, 3, 4]);
      expect(c?.writableLen).toBe(8);
      (c?.writable[0] as Uint8Array).set([0xaa, round]);
      q.pushUsed(head, 2);
      expect(driver.used()).toEqual([{ id: head, len: 2 }]);
      expect([...driver.reply(head, 2)]).toEqual([0xaa, round]);
    }
    expect(driver.used()).toEqual([]);
  });
});

describe('SplitQueue: well-formed chains', () => {
  it('pops a readable+writable chain as zero-copy views and publishes used entries', () => {
    const { bytes, dv, q, desc, offer } = setup();
    bytes.set([1, 2, 3, 4], 0x10000);
    desc(0, 0x10000, 4, VIRTQ_DESC_F_NEXT, 3);
    desc(3, 0x20000, 100, VIRTQ_DESC_F_WRITE);
    offer(0);
    expect(q.pending()).toBe(1);
    const c = q.pop();
    expect(c).toBeDefined();
    expect(c?.head).toBe(0);
    expect([...(c?.readable[0] ?? [])]).toEqual([1, 2, 3, 4]);
    expect(c?.writableLen).toBe(100);
    // The writable view is guest memory itself.
    (c?.writable[0] as Uint8Array)[0] = 0xab;
    expect(bytes[0x20000]).toBe(0xab);
    expect(q.pop()).toBeUndefined();
    q.pushUsed(0, 1);
    expect(dv.getUint16(USED + 2, true)).toBe(1);
    expect(dv.getUint32(USED + 4, true)).toBe(0);
    expect(dv.getUint32(USED + 8, true)).toBe(1);
    expect(q.needsInterrupt()).toBe(true);
    expect(q.needsInterrupt()).toBe(false); // nothing new since
  });

  it('follows indirect tables when negotiated, and wraps the 16-bit indices', () => {
    const { q, desc, offer } = setup({ indirect: true });
    const TABLE = 0x40000;
    desc(0, 0x50000, 10, VIRTQ_DESC_F_NEXT, 1, TABLE);
    desc(1, 0x60000, 20, VIRTQ_DESC_F_WRITE, 0, TABLE);
    desc(2, TABLE, 32, VIRTQ_DESC_F_INDIRECT);
    for (let round = 0; round < 70_000; round++) {
      offer(2);
      const c = q.pop();
      expect(c?.readableLen).toBe(10);
      expect(c?.writableLen).toBe(20);
      q.pushUsed(2, 20);
    }
  }, 30_000);

  it('EVENT_IDX: interrupts only when used_event is crossed', () => {
    const { dv, q, desc, offer } = setup({ eventIdx: true });
    desc(0, 0x10000, 8, VIRTQ_DESC_F_WRITE);
    dv.setUint16(AVAIL + 4 + 2 * SIZE, 5, true); // used_event: wake me after entry 5
    for (let i = 0; i < 5; i++) {
      offer(0);
      q.pop();
      q.pushUsed(0, 8);
      expect(q.needsInterrupt()).toBe(false);
    }
    offer(0);
    q.pop();
    q.pushUsed(0, 8);
    expect(q.needsInterrupt()).toBe(true);
    expect(dv.getUint16(USED + 4 + 8 * SIZE, true)).toBe(6); // avail_event follows what we consumed
  });
});

describe('SplitQueue: a hostile driver', () => {
  const cases: Array<[string, (s: ReturnType<typeof setup>) => void, string]> = [
    ['a head index beyond the table', (s) => s.offer(SIZE + 3), 'DESC_INDEX'],
    ['a next index beyond the table', (s) => (s.desc(0, 0x10000, 4, VIRTQ_DESC_F_NEXT, 99), s.offer(0)), 'DESC_INDEX'],
    ['a buffer outside guest memory', (s) => (s.desc(0, MiB - 2, 4, 0), s.offer(0)), 'DESC_ADDRESS'],
    ['an address beyond 2^53', (s) => (s.dv.setUint32(DESC + 4, 0xffffffff, true), s.dv.setUint32(DESC + 8, 1, true), s.offer(0)), 'DESC_ADDRESS'],
    ['a loop of two descriptors', (s) => (s.desc(0, 0x10000, 4, VIRTQ_DESC_F_NEXT, 1), s.desc(1, 0x10000, 4, VIRTQ_DESC_F_NEXT, 0), s.offer(0)), 'DESC_LOOP'],
    ['a descriptor pointing at itself', (s) => (s.desc(0, 0x10000, 4, VIRTQ_DESC_F_NEXT, 0), s.offer(0)), 'DESC_LOOP'],
    ['readable after writable', (s) => (s.desc(0, 0x10000, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1), s.desc(1, 0x10000, 4, 0), s.offer(0)), 'DESC_ORDER'],
    ['indirect without the feature', (s) => (s.desc(0, 0x40000, 16, VIRTQ_DESC_F_INDIRECT), s.offer(0)), 'DESC_INDIRECT'],
    [
      'the available index running ahead',
      (s) => {
        s.dv.setUint16(AVAIL + 2, SIZE + 1, true);
      },
      'AVAIL_IDX',
    ],
  ];
  for (const [what, arrange, code] of cases) {
    it(`refuses ${what} (${code})`, () => {
      const s = setup();
      arrange(s);
      let err: unknown;
      try {
        s.q.pop();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(QueueError);
      expect((err as QueueError).code).toBe(code);
    });
  }

  const indirectCases: Array<[string, (s: ReturnType<typeof setup>) => void, string]> = [
    ['an indirect table of a length not a multiple of 16', (s) => (s.desc(0, 0x40000, 20, VIRTQ_DESC_F_INDIRECT), s.offer(0)), 'DESC_INDIRECT'],
    ['an indirect table larger than the queue', (s) => (s.desc(0, 0x40000, 16 * (SIZE + 1), VIRTQ_DESC_F_INDIRECT), s.offer(0)), 'DESC_INDIRECT'],
    ['indirect with NEXT', (s) => (s.desc(0, 0x40000, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1), s.offer(0)), 'DESC_INDIRECT'],
    [
      'an indirect descriptor inside an indirect table',
      (s) => (s.desc(0, 0x40000, 16, 0x40000, 0, 0x40000), s.desc(0, 0x40000, 16, VIRTQ_DESC_F_INDIRECT, 0, 0x40000), s.desc(0, 0x40000, 16, VIRTQ_DESC_F_INDIRECT), s.offer(0)),
      'DESC_INDIRECT',
    ],
    [
      'a loop inside an indirect table',
      (s) => (
        s.desc(0, 0x10000, 4, VIRTQ_DESC_F_NEXT, 1, 0x40000),
        s.desc(1, 0x10000, 4, VIRTQ_DESC_F_NEXT, 0, 0x40000),
        s.desc(0, 0x40000, 32, VIRTQ_DESC_F_INDIRECT),
        s.offer(0)
      ),
      'DESC_LOOP',
    ],
    ['an indirect table outside guest memory', (s) => (s.desc(0, MiB - 16, 32, VIRTQ_DESC_F_INDIRECT), s.offer(0)), 'DESC_ADDRESS'],
  ];
  for (const [what, arrange, code] of indirectCases) {
    it(`refuses ${what} (${code})`, () => {
      const s = setup({ indirect: true });
      arrange(s);
      expect(() => s.q.pop()).toThrow(QueueError);
      try {
        s.q.pop();
      } catch (e) {
        expect((e as QueueError).code).toBe(code);
      }
    });
  }

  it('refuses rings placed outside guest memory or misaligned, and bad sizes', () => {
    const mem = new GuestMemory([{ gpa: 0, hostAddress: 0n, bytes: new Uint8Array(MiB) }]);
    expect(() => new SplitQueue(mem, { size: 6, descTable: 0, availRing: 0x1000, usedRing: 0x2000 })).toThrow(/power of 2/);
    expect(() => new SplitQueue(mem, { size: 65536, descTable: 0, availRing: 0x1000, usedRing: 0x2000 })).toThrow(/power of 2/);
    expect(() => new SplitQueue(mem, { size: 8, descTable: 8, availRing: 0x1000, usedRing: 0x2000 })).toThrow(/misaligned/);
    expect(() => new SplitQueue(mem, { size: 8, descTable: MiB - 64, availRing: 0x1000, usedRing: 0x2000 })).toThrow(/outside guest memory/);
  });

  it('survives 20,000 random descriptor tables without an exception other than QueueError, or a hang', () => {
    let x = 12345;
    const rnd = (): number => {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>>= 0);
    };
    let refused = 0;
    let popped = 0;
    const guest = new Uint8Array(MiB);
    for (let round = 0; round < 20_000; round++) {
      const s = setup({ indirect: round % 2 === 0, eventIdx: round % 3 === 0 }, guest);
      for (let i = 0; i < SIZE; i++) {
        const flags = rnd() & 7;
        const addr = rnd() % 4 === 0 ? rnd() * 4096 : (rnd() % MiB) & ~15;
        s.desc(i, addr, rnd() % 3 === 0 ? rnd() : rnd() % 4096, flags, rnd() % (SIZE + 2));
      }
      // An indirect table full of noise too.
      for (let k = 0; k < 64; k++) s.dv.setUint32(0x40000 + 4 * k, rnd(), true);
      s.offer(rnd() % (SIZE + 1));
      try {
        const c = s.q.pop();
        if (c !== undefined) {
          popped++;
          expect(c.readable.length + c.writable.length).toBeLessThanOrEqual(SIZE);
        }
      } catch (e) {
        if (!(e instanceof QueueError)) throw e;
        refused++;
      }
    }
    expect(refused + popped).toBe(20_000);
    expect(popped).toBeGreaterThan(0);
  }, 60_000);
});
