import { describe, expect, it } from 'vitest';
import { createLinkPair } from '../link/pair.js';
import { EthernetAddress } from '../wire/index.js';
import { FrameQueue } from './frame-queue.js';
import type { Link } from './link.js';
import { MacTable } from './mac-table.js';
import { Switch } from './switch.js';

const GW = EthernetAddress.parse('f6:16:36:bc:f9:c6');
const A = EthernetAddress.parse('02:00:00:00:00:0a');
const B = EthernetAddress.parse('02:00:00:00:00:0b');
const C = EthernetAddress.parse('02:00:00:00:00:0c');

function frame(dst: Uint8Array, src: Uint8Array, tag = 0): Uint8Array {
  const f = new Uint8Array(60);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x88;
  f[13] = 0xb5; // local experimental EtherType
  f[14] = tag;
  return f;
}

function drain(l: Link): Uint8Array[] {
  const out: Uint8Array[] = [];
  const q = l.frames() as FrameQueue;
  for (let f = q.shift(); f !== undefined; f = q.shift()) out.push(f);
  return out;
}

function setup(): { sw: Switch; local: Uint8Array[]; ports: Link[]; guests: Link[]; t: { now: number } } {
  const t = { now: 0 };
  const sw = new Switch({ localMac: GW, now: () => t.now, macTable: { capacity: 2, agingMs: 1000 } });
  const local: Uint8Array[] = [];
  sw.onLocal((f) => local.push(f));
  const ports: Link[] = [];
  const guests: Link[] = [];
  for (let i = 0; i < 3; i++) {
    const [p, g] = createLinkPair();
    ports.push(p);
    guests.push(g);
    void sw.addLink(p);
  }
  return { sw, local, ports, guests, t };
}

describe('Switch', () => {
  it('delivers frames for the gateway MAC only to the local stack', () => {
    const { sw, local, ports, guests } = setup();
    sw.input(frame(GW, A), ports[0] as Link);
    expect(local).toHaveLength(1);
    expect(guests.map(drain).map((x) => x.length)).toEqual([0, 0, 0]);
  });

  it('delivers broadcast locally and floods it to the other links', () => {
    const { sw, local, ports, guests } = setup();
    sw.input(frame(EthernetAddress.BROADCAST, A), ports[0] as Link);
    expect(local).toHaveLength(1);
    expect(guests.map(drain).map((x) => x.length)).toEqual([0, 1, 1]);
  });

  it('floods unknown unicast, then forwards to the learned link only', () => {
    const { sw, ports, guests } = setup();
    sw.input(frame(B, A), ports[0] as Link); // B unknown: flood
    expect(guests.map(drain).map((x) => x.length)).toEqual([0, 1, 1]);
    sw.input(frame(A, B), ports[1] as Link); // A learned on port 0
    expect(guests.map(drain).map((x) => x.length)).toEqual([1, 0, 0]);
    sw.input(frame(B, A), ports[0] as Link); // B learned on port 1
    expect(guests.map(drain).map((x) => x.length)).toEqual([0, 1, 0]);
    expect(sw.stats().forwarded).toBe(2);
  });

  it('sends local frames to the learned link, or floods', () => {
    const { sw, ports, guests } = setup();
    sw.sendLocal(frame(A, GW));
    expect(guests.map(drain).map((x) => x.length)).toEqual([1, 1, 1]);
    sw.input(frame(GW, A), ports[2] as Link);
    sw.sendLocal(frame(A, GW));
    expect(guests.map(drain).map((x) => x.length)).toEqual([0, 0, 1]);
  });

  it('ages MAC entries and bounds the table', () => {
    const { sw, ports, guests, t } = setup();
    sw.input(frame(GW, A), ports[0] as Link);
    t.now = 1000;
    sw.sendLocal(frame(A, GW)); // aged out: flood
    expect(guests.map(drain).map((x) => x.length)).toEqual([1, 1, 1]);
    sw.input(frame(GW, A), ports[0] as Link);
    sw.input(frame(GW, B), ports[1] as Link);
    sw.input(frame(GW, C), ports[2] as Link);
    expect(sw.stats().macs).toBe(2);
  });

  it('drops malformed frames, group or spoofed sources, and hairpins', () => {
    const { sw, local, ports } = setup();
    sw.input(new Uint8Array(5), ports[0] as Link);
    sw.input(frame(GW, EthernetAddress.BROADCAST), ports[0] as Link);
    sw.input(frame(A, GW), ports[0] as Link);
    sw.input(frame(GW, A), ports[0] as Link);
    sw.input(frame(A, B), ports[0] as Link); // A is behind port 0 itself
    expect(local).toHaveLength(1);
    expect(sw.stats().dropped).toBe(4);
  });

  it('pumps frames from attached links and forgets a closed link', async () => {
    const { sw, local, guests } = setup();
    (guests[0] as Link).send(frame(GW, A));
    await new Promise((r) => setImmediate(r));
    expect(local).toHaveLength(1);
    await sw.close();
    expect(sw.linkCount).toBe(0);
  });

  it('counts frames a full link refuses', () => {
    const t = { now: 0 };
    const sw = new Switch({ localMac: GW, now: () => t.now });
    const [p] = createLinkPair({ capacity: 1 });
    void sw.addLink(p);
    sw.sendLocal(frame(A, GW));
    sw.sendLocal(frame(A, GW));
    expect(sw.stats().egressDropped).toBe(1);
    expect(p.stats().txDropped).toBe(1);
  });
});

describe('MacTable', () => {
  it('does not learn group addresses', () => {
    const m = new MacTable<number>();
    m.learn(0, EthernetAddress.BROADCAST, 1);
    expect(m.size).toBe(0);
  });

  const mac = (last: number, first = 0x02): EthernetAddress => Uint8Array.of(first, 0xff, 0x00, 0x80, 0x7f, last);

  it('keeps addresses apart that differ in any byte, follows a move, ages entries out', () => {
    const m = new MacTable<number>({ agingMs: 1000 });
    m.learn(0, mac(1), 1);
    m.learn(0, mac(1, 0xfe), 2); // same low 32 bits, other high 16
    m.learn(0, Uint8Array.of(0x02, 0xff, 0x00, 0x80, 0x7e, 1), 3);
    expect([m.lookup(10, mac(1)), m.lookup(10, mac(1, 0xfe)), m.lookup(10, Uint8Array.of(0x02, 0xff, 0x00, 0x80, 0x7e, 1))]).toEqual([1, 2, 3]);
    m.learn(500, mac(1), 4);
    expect(m.moved).toBe(1);
    expect(m.lookup(1400, mac(1))).toBe(4); // seen at 500: still fresh
    expect(m.lookup(1400, mac(1, 0xfe))).toBeUndefined(); // seen at 0: aged out
    expect(m.lookup(10, Uint8Array.of(1, 2, 3))).toBeUndefined(); // a short address matches nothing
  });

  it('evicts the least recently seen (to within a second) when full', () => {
    const m = new MacTable<number>({ capacity: 3 });
    m.learn(0, mac(1), 1);
    m.learn(1, mac(2), 1);
    m.learn(2, mac(3), 1);
    m.learn(1500, mac(1), 1); // seen again after more than a second: now the youngest
    m.learn(1501, mac(4), 1); // evicts mac(2)
    expect([1, 2, 3, 4].map((i) => m.lookup(1502, mac(i)) !== undefined)).toEqual([true, false, true, true]);
    expect(m.evicted).toBe(1);
    m.learn(1700, mac(1), 1); // within a second of its last move: keeps its place (3, 1, 4)
    m.learn(1701, mac(3), 1); // moves to the young end (1, 4, 3)
    m.learn(1702, mac(5), 1); // evicts mac(1), seen at 1700, before mac(4), seen at 1501
    expect([1, 3, 4, 5].map((i) => m.lookup(1703, mac(i)) !== undefined)).toEqual([false, true, true, true]);
    expect(m.size).toBe(3);
  });
});

describe('FrameQueue', () => {
  it('is bounded, FIFO, and wakes an async consumer', async () => {
    const q = new FrameQueue(2);
    expect(q.push(Uint8Array.of(1))).toBe(true);
    expect(q.push(Uint8Array.of(2))).toBe(true);
    expect(q.push(Uint8Array.of(3))).toBe(false);
    expect((await q.next()).value).toEqual(Uint8Array.of(1));
    expect((await q.next()).value).toEqual(Uint8Array.of(2));
    const p = q.next();
    q.push(Uint8Array.of(4));
    expect((await p).value).toEqual(Uint8Array.of(4));
    const d = q.next();
    q.end();
    expect((await d).done).toBe(true);
    expect(q.push(Uint8Array.of(5))).toBe(false);
  });
});
