import { describe, expect, it } from 'vitest';
import { EthernetAddress, IpProtocol, Ipv6Address, type Icmpv6Repr, type Ipv6Repr } from '../wire/index.js';
import { Ndp, type NdpOptions } from './ndp.js';
import { NeighborCache } from './neighbors.js';

const A = Ipv6Address.parse;
const GW_MAC = EthernetAddress.parse('f6:16:36:bc:f9:c6');
const GW_LL = A('fe80::f416:36ff:febc:f9c6');
const GW = A('fd00:192:168:65::1');
const HOST = A('fd00:192:168:65::2');
const G_MAC = EthernetAddress.parse('02:50:00:00:00:01');
const G_LL = A('fe80::50:ff:fe00:1');
const G = A('fd00:192:168:65:50:ff:fe00:1');
const OTHER_MAC = EthernetAddress.parse('02:50:00:00:00:02');

function ndp(extra: Partial<NdpOptions> = {}): Ndp {
  return new Ndp({
    mac: GW_MAC,
    prefix: A('fd00:192:168:65::'),
    prefixLen: 64,
    addresses: [GW, HOST],
    mtu: 1500,
    dnsServers: [GW],
    random: () => 0.5,
    ...extra,
  });
}

function ip(src: Uint8Array, dst: Uint8Array, hopLimit = 255): Ipv6Repr {
  return { src, dst, nextHeader: IpProtocol.Icmpv6, payloadLen: 0, hopLimit };
}

const ns = (target: Uint8Array, sourceLinkAddr?: Uint8Array): Icmpv6Repr =>
  sourceLinkAddr === undefined ? { kind: 'neighborSolicit', target } : { kind: 'neighborSolicit', target, sourceLinkAddr };

describe('Ndp: Neighbor Solicitation (RFC 4861 §7.2.3-7.2.4)', () => {
  it('answers a solicitation for its link-local with a solicited NA carrying its MAC, and learns the sender', () => {
    const n = ndp();
    expect(Ipv6Address.format(n.linkLocal)).toBe('fe80::f416:36ff:febc:f9c6');
    const r = n.process(0, ip(G_LL, Ipv6Address.solicitedNode(GW_LL)), ns(GW_LL, G_MAC), G_MAC);
    expect(r).toBeDefined();
    expect(r?.dstMac).toEqual(G_MAC);
    expect(r?.ip).toMatchObject({ src: GW_LL, dst: G_LL, hopLimit: 255, nextHeader: 58, payloadLen: 32 });
    expect(r?.icmp).toEqual({ kind: 'neighborAdvert', router: true, solicited: true, override: true, target: GW_LL, targetLinkAddr: GW_MAC });
    expect(n.cache.lookup(0, G_LL)).toEqual(G_MAC);
  });

  it('answers for the gateway and host-alias addresses in the prefix, not for others', () => {
    const n = ndp();
    for (const t of [GW, HOST]) expect(n.process(0, ip(G, Ipv6Address.solicitedNode(t)), ns(t, G_MAC), G_MAC)?.icmp).toMatchObject({ target: t });
    expect(n.process(0, ip(G, Ipv6Address.solicitedNode(A('fd00:192:168:65::3'))), ns(A('fd00:192:168:65::3'), G_MAC), G_MAC)).toBeUndefined();
    expect(n.stats().solicitationsAnswered).toBe(2);
  });

  it('ignores solicitations whose hop limit is not 255, or with a multicast target or source', () => {
    const n = ndp();
    for (const hop of [0, 1, 64, 254]) {
      expect(n.process(0, ip(G_LL, Ipv6Address.solicitedNode(GW_LL), hop), ns(GW_LL, G_MAC), G_MAC)).toBeUndefined();
    }
    expect(n.process(0, ip(G_LL, GW_LL), ns(Ipv6Address.LINK_LOCAL_ALL_NODES, G_MAC), G_MAC)).toBeUndefined();
    expect(n.process(0, ip(Ipv6Address.LINK_LOCAL_ALL_NODES, GW_LL), ns(GW_LL, G_MAC), G_MAC)).toBeUndefined();
    expect(n.stats().invalid).toBe(6);
    expect(n.cache.size).toBe(0);
  });

  it('defends its address against DAD with an unsolicited NA to all-nodes; rejects malformed DAD', () => {
    const n = ndp();
    const r = n.process(0, ip(Ipv6Address.UNSPECIFIED, Ipv6Address.solicitedNode(GW)), ns(GW), G_MAC);
    expect(r?.ip.dst).toEqual(Ipv6Address.LINK_LOCAL_ALL_NODES);
    expect(r?.dstMac).toEqual(EthernetAddress.parse('33:33:00:00:00:01'));
    expect(r?.icmp).toMatchObject({ kind: 'neighborAdvert', solicited: false, override: true });
    // §7.1.1: from :: only to the solicited-node group, and without a source link-layer option.
    expect(n.process(0, ip(Ipv6Address.UNSPECIFIED, GW), ns(GW), G_MAC)).toBeUndefined();
    expect(n.process(0, ip(Ipv6Address.UNSPECIFIED, Ipv6Address.solicitedNode(GW)), ns(GW, G_MAC), G_MAC)).toBeUndefined();
    expect(n.stats().invalid).toBe(2);
    expect(n.cache.size).toBe(0);
  });

  it('counts a sender claiming a gateway address as a conflict and learns nothing', () => {
    const n = ndp();
    expect(n.process(0, ip(GW, Ipv6Address.solicitedNode(GW_LL)), ns(GW_LL, G_MAC), G_MAC)).toBeUndefined();
    const na: Icmpv6Repr = { kind: 'neighborAdvert', router: false, solicited: false, override: true, target: GW, targetLinkAddr: G_MAC };
    n.process(0, ip(G_LL, Ipv6Address.LINK_LOCAL_ALL_NODES), na, G_MAC);
    expect(n.stats().conflicts).toBe(2);
    expect(n.cache.has(0, GW)).toBe(false);
  });
});

describe('Ndp: Router Solicitation and Advertisement (RFC 4861 §6.2, RFC 4862, RFC 8106)', () => {
  it('answers an RS with a unicast RA: default router, autonomous on-link /64, MTU, RDNSS, from its link-local', () => {
    const n = ndp();
    const r = n.process(0, ip(G_LL, Ipv6Address.LINK_LOCAL_ALL_ROUTERS), { kind: 'routerSolicit', sourceLinkAddr: G_MAC }, G_MAC);
    expect(r?.dstMac).toEqual(G_MAC);
    expect(r?.ip).toMatchObject({ src: GW_LL, dst: G_LL, hopLimit: 255 });
    expect(r?.icmp).toEqual({
      kind: 'routerAdvert',
      hopLimit: 64,
      managed: false,
      other: false,
      routerLifetime: 1800,
      reachableTime: 0,
      retransTime: 0,
      sourceLinkAddr: GW_MAC,
      mtu: 1500,
      prefixes: [{ prefixLen: 64, onLink: true, autonomous: true, validLifetime: 86400, preferredLifetime: 14400, prefix: A('fd00:192:168:65::') }],
      rdnss: { lifetime: 1200, servers: [GW] },
    });
    expect(r?.ip.payloadLen).toBe(16 + 8 + 8 + 32 + 24);
    expect(n.cache.lookup(0, G_LL)).toEqual(G_MAC);
  });

  it('multicasts the RA for an RS from the unspecified address; drops RS with hop limit != 255 or :: with an SLLAO', () => {
    const n = ndp();
    const r = n.process(0, ip(Ipv6Address.UNSPECIFIED, Ipv6Address.LINK_LOCAL_ALL_ROUTERS), { kind: 'routerSolicit' }, G_MAC);
    expect(r?.ip.dst).toEqual(Ipv6Address.LINK_LOCAL_ALL_NODES);
    expect(r?.dstMac).toEqual(EthernetAddress.parse('33:33:00:00:00:01'));
    expect(n.process(0, ip(G_LL, Ipv6Address.LINK_LOCAL_ALL_ROUTERS, 1), { kind: 'routerSolicit' }, G_MAC)).toBeUndefined();
    expect(
      n.process(0, ip(Ipv6Address.UNSPECIFIED, Ipv6Address.LINK_LOCAL_ALL_ROUTERS), { kind: 'routerSolicit', sourceLinkAddr: G_MAC }, G_MAC),
    ).toBeUndefined();
    expect(n.stats().invalid).toBe(2);
  });

  it('rate-limits solicited RAs (a bucket of 8, one more per 500 ms)', () => {
    const n = ndp();
    const rs = (now: number): unknown => n.process(now, ip(G_LL, Ipv6Address.LINK_LOCAL_ALL_ROUTERS), { kind: 'routerSolicit' }, G_MAC);
    let sent = 0;
    for (let i = 0; i < 100; i++) if (rs(1000) !== undefined) sent++;
    expect(sent).toBe(8);
    expect(rs(1400)).toBeUndefined();
    expect(rs(1500)).toBeDefined();
    expect(rs(1500)).toBeUndefined();
    expect(n.stats().rateLimited).toBe(94);
  });

  it('advertises unsolicited only once IPv6 is seen: three initial RAs at most 16 s apart, then within [min, max]', () => {
    const n = ndp({ ra: { maxIntervalMs: 600_000 } });
    expect(n.dispatch(0)).toEqual([]);
    expect(n.pollAt()).toBeUndefined();
    n.activate(5000);
    const times: number[] = [];
    let now = 5000;
    for (let i = 0; i < 6; i++) {
      const out = n.dispatch(now);
      expect(out).toHaveLength(1);
      expect(out[0]?.ip.dst).toEqual(Ipv6Address.LINK_LOCAL_ALL_NODES);
      expect(out[0]?.icmp.kind).toBe('routerAdvert');
      times.push(now);
      now = n.pollAt() ?? Infinity;
      expect(n.dispatch(now - 1)).toEqual([]);
    }
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    expect(gaps.slice(0, 3)).toEqual([16_000, 16_000, 16_000]);
    // random() = 0.5: halfway between MinRtrAdvInterval (200 s) and MaxRtrAdvInterval (600 s).
    expect(gaps.slice(3)).toEqual([400_000, 400_000]);
  });
});

describe('Ndp: address resolution for packets to guests', () => {
  it('parks a packet, solicits the solicited-node group (3 tries, 1 s apart), releases on the NA', () => {
    const n = ndp();
    const pkt = new Uint8Array(60);
    expect(n.resolve(0, G, pkt)).toBeUndefined();
    const out = n.dispatch(0);
    expect(out).toHaveLength(1);
    expect(out[0]?.dstMac).toEqual(EthernetAddress.parse('33:33:ff:00:00:01'));
    expect(out[0]?.ip).toMatchObject({ src: GW, dst: A('ff02::1:ff00:1'), hopLimit: 255 });
    expect(out[0]?.icmp).toEqual({ kind: 'neighborSolicit', target: G, sourceLinkAddr: GW_MAC });
    expect(n.dispatch(999)).toEqual([]);
    expect(n.dispatch(1000)).toHaveLength(1);
    const na: Icmpv6Repr = { kind: 'neighborAdvert', router: false, solicited: true, override: true, target: G, targetLinkAddr: G_MAC };
    n.process(1200, ip(G, GW), na, G_MAC);
    const rel = n.takeReleased();
    expect(rel).toEqual([{ mac: G_MAC, packets: [pkt] }]);
    expect(n.resolve(1300, G)).toEqual(G_MAC);
    expect(n.takeReleased()).toEqual([]);
  });

  it('gives up after three solicitations and drops the parked packets', () => {
    const n = ndp();
    n.resolve(0, G, new Uint8Array(1));
    for (const t of [0, 1000, 2000]) expect(n.dispatch(t)).toHaveLength(1);
    expect(n.dispatch(3000)).toEqual([]);
    expect(n.stats().pending).toMatchObject({ addresses: 0, packets: 0, droppedUnresolved: 1 });
  });

  it('never parks for off-link or own addresses', () => {
    const n = ndp();
    n.resolve(0, A('2001:db8::1'), new Uint8Array(1));
    n.resolve(0, GW, new Uint8Array(1));
    expect(n.dispatch(0)).toEqual([]);
  });

  it('learns from an unsolicited NA only about its sender; never from an NA to a group with S set', () => {
    const n = ndp();
    const na = (target: Uint8Array, solicited: boolean): Icmpv6Repr => ({
      kind: 'neighborAdvert',
      router: false,
      solicited,
      override: true,
      target,
      targetLinkAddr: OTHER_MAC,
    });
    n.process(0, ip(G_LL, Ipv6Address.LINK_LOCAL_ALL_NODES), na(G, false), G_MAC); // about someone else's MAC
    expect(n.cache.has(0, G)).toBe(false);
    n.process(0, ip(G_LL, Ipv6Address.LINK_LOCAL_ALL_NODES), na(G, true), OTHER_MAC);
    expect(n.stats().invalid).toBe(1);
    n.process(0, ip(G_LL, Ipv6Address.LINK_LOCAL_ALL_NODES), na(G, false), OTHER_MAC);
    expect(n.cache.lookup(0, G)).toEqual(OTHER_MAC);
  });

  it('observe() creates bindings for unclaimed on-link addresses but never overrides one', () => {
    const n = ndp();
    n.observe(0, G, G_MAC);
    n.observe(0, G, OTHER_MAC);
    expect(n.cache.lookup(0, G)).toEqual(G_MAC);
    n.observe(0, A('2001:db8::5'), G_MAC); // off-link
    n.observe(0, Ipv6Address.UNSPECIFIED, G_MAC);
    n.observe(0, GW, G_MAC);
    expect(n.cache.size).toBe(1);
    n.observe(59_000, G, G_MAC); // refreshed: lives 60 s from here
    expect(n.cache.lookup(100_000, G)).toEqual(G_MAC);
    expect(n.cache.lookup(119_000, G)).toBeUndefined();
  });
});

describe('NeighborCache', () => {
  it('is bounded: the least recently refreshed entry is evicted', () => {
    const c = new NeighborCache({ capacity: 256 });
    const addr = (i: number): Uint8Array => A(`fd00::${i.toString(16)}`);
    for (let i = 0; i < 1000; i++) c.insert(0, addr(i), G_MAC);
    expect(c.size).toBe(256);
    expect(c.stats()).toMatchObject({ inserted: 1000, evicted: 744 });
    expect(c.has(0, addr(743))).toBe(false);
    expect(c.has(0, addr(744))).toBe(true);
  });

  it('a memoised lookup never returns an evicted or expired entry', () => {
    const c = new NeighborCache({ capacity: 1, ttlMs: 10 });
    c.insert(0, G, G_MAC);
    expect(c.lookup(0, G)).toEqual(G_MAC);
    c.insert(0, G_LL, OTHER_MAC);
    expect(c.lookup(0, G)).toBeUndefined();
    expect(c.lookup(9, G_LL)).toEqual(OTHER_MAC);
    expect(c.lookup(10, G_LL)).toBeUndefined();
    expect(c.stats().expired).toBe(1);
  });
});
