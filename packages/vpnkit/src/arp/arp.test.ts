import { describe, expect, it } from 'vitest';
import { ArpOperation, EthernetAddress, Ipv4Address, type ArpRepr } from '../wire/index.js';
import { Arp } from './arp.js';
import { ArpCache } from './cache.js';
import { PendingQueue } from './pending.js';

const ip = Ipv4Address.parse;
const mac = EthernetAddress.parse;
const GW_MAC = mac('f6:16:36:bc:f9:c6');
const GUEST_MAC = mac('02:50:00:00:00:01');
const GW = ip('192.168.65.1');
const HOST = ip('192.168.65.2');
const GUEST = ip('192.168.65.3');

function newArp(): Arp {
  return new Arp({
    mac: GW_MAC,
    addresses: [GW, HOST],
    subnet: { network: ip('192.168.65.0'), prefixLen: 24 },
    cache: { capacity: 4, ttlMs: 1000 },
    pending: { maxAddresses: 2, perAddress: 2, total: 3, retryMs: 100, maxRequests: 2 },
  });
}

function request(spa: number, tpa: number, sha = GUEST_MAC): ArpRepr {
  return {
    operation: ArpOperation.Request,
    senderHardwareAddr: sha,
    senderProtocolAddr: spa,
    targetHardwareAddr: EthernetAddress.ZERO,
    targetProtocolAddr: tpa,
  };
}

describe('Arp responder', () => {
  it('answers a request for the gateway and for the host alias', () => {
    const arp = newArp();
    for (const target of [GW, HOST]) {
      const reply = arp.process(0, request(GUEST, target));
      expect(reply).toEqual({
        operation: ArpOperation.Reply,
        senderHardwareAddr: GW_MAC,
        senderProtocolAddr: target,
        targetHardwareAddr: GUEST_MAC,
        targetProtocolAddr: GUEST,
      });
    }
    expect(arp.stats().requestsAnswered).toBe(2);
  });

  it('ignores requests for addresses it does not own', () => {
    const arp = newArp();
    expect(arp.process(0, request(GUEST, ip('192.168.65.9')))).toBeUndefined();
    expect(arp.stats().requestsIgnored).toBe(1);
    expect(arp.cache.size).toBe(0); // not for us, no binding
  });

  it('learns the sender of a request addressed to the gateway', () => {
    const arp = newArp();
    arp.process(0, request(GUEST, GW));
    expect(arp.resolve(10, GUEST)).toEqual(GUEST_MAC);
  });

  it('answers an RFC 5227 probe without learning from it', () => {
    const arp = newArp();
    const reply = arp.process(0, request(0, GW));
    expect(reply?.targetProtocolAddr).toBe(0);
    expect(arp.cache.size).toBe(0);
  });

  it('never learns a binding for its own addresses', () => {
    const arp = newArp();
    arp.process(0, request(GW, GW, mac('02:66:66:66:66:66')));
    expect(arp.stats().conflicts).toBe(1);
    expect(arp.cache.size).toBe(0);
  });

  it('rejects multicast or zero sender MACs and senders outside the subnet', () => {
    const arp = newArp();
    expect(arp.process(0, request(GUEST, GW, EthernetAddress.BROADCAST))).toBeUndefined();
    expect(arp.process(0, request(GUEST, GW, EthernetAddress.ZERO))).toBeUndefined();
    arp.process(0, request(ip('10.0.0.1'), GW));
    expect(arp.cache.size).toBe(0);
    expect(arp.stats().rejected).toBe(3);
  });

  it('refreshes a known binding from a gratuitous ARP', () => {
    const arp = newArp();
    arp.process(0, request(GUEST, GW));
    const moved = mac('02:50:00:00:00:99');
    arp.process(500, request(GUEST, GUEST, moved));
    expect(arp.resolve(1200, GUEST)).toEqual(moved); // refreshed at 500, so alive at 1200
  });
});

describe('Arp resolution', () => {
  it('parks packets, requests once per interval, and releases them on the reply', () => {
    const arp = newArp();
    const pkt = Uint8Array.of(1, 2, 3);
    expect(arp.resolve(0, GUEST, pkt)).toBeUndefined();
    expect(arp.pollAt()).toBe(0);
    const reqs = arp.dispatch(0);
    expect(reqs).toHaveLength(1);
    expect(reqs[0]).toMatchObject({ operation: ArpOperation.Request, senderProtocolAddr: GW, targetProtocolAddr: GUEST });
    expect(arp.dispatch(50)).toHaveLength(0); // rate limited
    const reply: ArpRepr = {
      operation: ArpOperation.Reply,
      senderHardwareAddr: GUEST_MAC,
      senderProtocolAddr: GUEST,
      targetHardwareAddr: GW_MAC,
      targetProtocolAddr: GW,
    };
    expect(arp.process(60, reply)).toBeUndefined();
    const released = arp.takeReleased();
    expect(released).toHaveLength(1);
    expect(released[0]?.mac).toEqual(GUEST_MAC);
    expect(released[0]?.packets).toEqual([pkt]);
    expect(arp.takeReleased()).toHaveLength(0);
  });

  it('gives up after maxRequests and drops the parked packets', () => {
    const arp = newArp();
    arp.resolve(0, GUEST, new Uint8Array(1));
    expect(arp.dispatch(0)).toHaveLength(1);
    expect(arp.dispatch(100)).toHaveLength(1);
    expect(arp.dispatch(200)).toHaveLength(0);
    expect(arp.stats().pending).toMatchObject({ addresses: 0, packets: 0, droppedUnresolved: 1 });
    expect(arp.pollAt()).toBeUndefined();
  });

  it('learnFrom releases parked packets too', () => {
    const arp = newArp();
    arp.resolve(0, GUEST, new Uint8Array(1));
    arp.learnFrom(1, GUEST, GUEST_MAC);
    expect(arp.takeReleased()).toHaveLength(1);
  });
});

describe('ArpCache', () => {
  it('expires entries after the ttl', () => {
    const c = new ArpCache({ ttlMs: 100 });
    c.insert(0, 1, GUEST_MAC);
    expect(c.lookup(99, 1)).toEqual(GUEST_MAC);
    expect(c.lookup(100, 1)).toBeUndefined();
    expect(c.stats().expired).toBe(1);
  });

  it('is bounded: a full cache evicts the least recently refreshed entry', () => {
    const c = new ArpCache({ capacity: 2, ttlMs: 1000 });
    c.insert(0, 1, GUEST_MAC);
    c.insert(0, 2, GUEST_MAC);
    c.insert(1, 1, GUEST_MAC); // refresh 1, so 2 is now oldest
    c.insert(2, 3, GUEST_MAC);
    expect(c.size).toBe(2);
    expect(c.lookup(3, 2)).toBeUndefined();
    expect(c.lookup(3, 1)).toBeDefined();
    expect(c.stats().evicted).toBe(1);
  });

  it('copies the MAC it is given', () => {
    const c = new ArpCache();
    const m = GUEST_MAC.slice();
    c.insert(0, 1, m);
    m[0] = 0xff;
    expect(c.lookup(0, 1)).toEqual(GUEST_MAC);
  });

  it('holds 10,000 hostile inserts within capacity', () => {
    const c = new ArpCache({ capacity: 64 });
    for (let i = 0; i < 10_000; i++) c.insert(i, i, GUEST_MAC);
    expect(c.size).toBe(64);
    c.expire(1e9);
    expect(c.size).toBe(0);
    expect(c.pollAt()).toBeUndefined();
  });
});

describe('PendingQueue bounds', () => {
  it('bounds addresses, packets per address (keeping the latest) and the total', () => {
    const q = new PendingQueue({ maxAddresses: 2, perAddress: 2, total: 3 });
    const p = (n: number): Uint8Array => Uint8Array.of(n);
    expect(q.enqueue(0, 1, p(1))).toBe('queued');
    expect(q.enqueue(0, 1, p(2))).toBe('queued');
    expect(q.enqueue(0, 1, p(3))).toBe('queued'); // drops p(1)
    expect(q.enqueue(0, 2, p(4))).toBe('queued');
    expect(q.enqueue(0, 3, p(5))).toBe('dropped'); // third address
    expect(q.enqueue(0, 2, p(6))).toBe('dropped'); // total of 3 reached
    expect(q.release(1)).toEqual([p(2), p(3)]);
    expect(q.stats()).toMatchObject({ addresses: 1, packets: 1, droppedFull: 3 });
  });
});
