/**
 * IPv6 on the gateway, through a `Stack` and an in-memory link: golden
 * router advertisement bytes, ND, ICMPv6 echo, resolution of packets to
 * guests, and hostile input.
 */
import { describe, expect, it } from 'vitest';
import { createLinkPair } from '../link/pair.js';
import type { FrameQueue } from '../switch/frame-queue.js';
import type { Link } from '../switch/link.js';
import { ManualClock } from '../testing/clock.js';
import {
  EtherType,
  EthernetAddress,
  EthernetFrame,
  EthernetRepr,
  Icmpv6Packet,
  Icmpv6Repr,
  IpProtocol,
  Ipv6Address,
  Ipv6Packet,
  Ipv6Repr,
  bytesToHex,
  hexToBytes,
  parseFrame,
  type FrameRepr,
} from '../wire/index.js';
import { Stack } from './stack.js';

const A = Ipv6Address.parse;
const GW_MAC = EthernetAddress.parse('f6:16:36:bc:f9:c6');
const GW_LL = A('fe80::f416:36ff:febc:f9c6');
const GW6 = A('fd00:192:168:65::1');
const G_MAC = EthernetAddress.parse('02:50:00:00:00:02');
const G_LL = A('fe80::50:ff:fe00:2');
const G6 = A('fd00:192:168:65:50:ff:fe00:2');

function drain(l: Link): Uint8Array[] {
  const q = l.frames() as FrameQueue;
  const out: Uint8Array[] = [];
  for (let f = q.shift(); f !== undefined; f = q.shift()) out.push(f);
  return out;
}

async function tick(): Promise<void> {
  await new Promise((r) => setImmediate(r));
}

function setup(opts: ConstructorParameters<typeof Stack>[0] = {}): { stack: Stack; guest: Link; clock: ManualClock } {
  const clock = new ManualClock(1000);
  const stack = new Stack({ clock, ...opts });
  stack.start();
  const [port, guest] = createLinkPair();
  void stack.addLink(port);
  return { stack, guest, clock };
}

/** An Ethernet + IPv6 + ICMPv6 frame from the guest. */
function icmp6Frame(src: Uint8Array, dst: Uint8Array, icmp: Icmpv6Repr, opts: { hopLimit?: number; dstMac?: Uint8Array } = {}): Uint8Array {
  const len = Icmpv6Repr.bufferLen(icmp);
  const buf = new Uint8Array(14 + 40 + len);
  const dstMac = opts.dstMac ?? (Ipv6Address.isMulticast(dst) ? Ipv6Address.multicastMac(dst) : GW_MAC);
  EthernetRepr.emit({ src: G_MAC, dst: dstMac, etherType: EtherType.Ipv6 }, EthernetFrame.unchecked(buf));
  Ipv6Repr.emit({ src, dst, nextHeader: IpProtocol.Icmpv6, payloadLen: len, hopLimit: opts.hopLimit ?? 255 }, Ipv6Packet.unchecked(buf.subarray(14)));
  Icmpv6Repr.emit(icmp, Icmpv6Packet.unchecked(buf.subarray(54)), src, dst);
  return buf;
}

function icmpOf(f: FrameRepr | undefined): Icmpv6Repr {
  if (f?.network.kind !== 'ipv6' || f.network.transport.kind !== 'icmpv6') throw new Error('not ICMPv6');
  return f.network.transport.icmp;
}

// A Router Solicitation as Linux sends it (golden ICMPv6 part from src/wire/icmpv6.test.ts, scapy).
const RS_FRAME = hexToBytes(
  '33 33 00 00 00 02', // dst: all-routers multicast MAC
  '02 50 00 00 00 02', // src: the guest
  '86 dd', // EtherType IPv6
  '60 00 00 00', // version 6, traffic class 0, flow label 0
  '00 10 3a ff', // payload length 16, next header 58 (ICMPv6), hop limit 255
  'fe 80 00 00 00 00 00 00 00 50 00 ff fe 00 00 02', // src fe80::50:ff:fe00:2
  'ff 02 00 00 00 00 00 00 00 00 00 00 00 00 00 02', // dst ff02::2
  '85 00 7a 8a', // Router Solicitation, code 0, checksum
  '00 00 00 00', // reserved
  '01 01 02 50 00 00 00 02', // source link-layer address option
);

// The gateway's answer (checksum checked with tshark: "[Checksum Status: Good]").
const RA_FRAME = hexToBytes(
  '02 50 00 00 00 02', // dst: the solicitor (unicast, RFC 4861 §6.2.6)
  'f6 16 36 bc f9 c6', // src: the gateway MAC
  '86 dd',
  '60 00 00 00', // version 6
  '00 58 3a ff', // payload length 88, ICMPv6, hop limit 255
  'fe 80 00 00 00 00 00 00 f4 16 36 ff fe bc f9 c6', // src: the gateway's link-local (EUI-64 of its MAC)
  'fe 80 00 00 00 00 00 00 00 50 00 ff fe 00 00 02', // dst: the solicitor
  '86 00 f4 04', // Router Advertisement, code 0, checksum
  '40 00 07 08', // cur hop limit 64, M=0 O=0, router lifetime 1800 s
  '00 00 00 00', // reachable time: unspecified
  '00 00 00 00', // retrans timer: unspecified
  '01 01 f6 16 36 bc f9 c6', // source link-layer address
  '05 01 00 00 00 00 05 dc', // MTU 1500
  '03 04 40 c0', // prefix information, /64, L=1 A=1
  '00 01 51 80', // valid lifetime 86400 s
  '00 00 38 40', // preferred lifetime 14400 s
  '00 00 00 00', // reserved
  'fd 00 01 92 01 68 00 65 00 00 00 00 00 00 00 00', // prefix fd00:192:168:65::
  '19 03 00 00', // RDNSS (RFC 8106), length 3 (one server)
  '00 00 04 b0', // lifetime 1200 s
  'fd 00 01 92 01 68 00 65 00 00 00 00 00 00 00 01', // fd00:192:168:65::1
);

describe('Stack: IPv6 router', () => {
  it('answers a Router Solicitation with the golden Router Advertisement', async () => {
    const { stack, guest } = setup();
    guest.send(RS_FRAME);
    await tick();
    const out = drain(guest);
    expect(out).toHaveLength(1);
    expect(bytesToHex(out[0] as Uint8Array)).toBe(bytesToHex(RA_FRAME));
    await stack.close();
  });

  it('answers Neighbor Solicitations for its link-local and global address, with the target link-layer option', async () => {
    const { stack, guest } = setup();
    for (const target of [GW_LL, GW6]) {
      guest.send(icmp6Frame(G_LL, Ipv6Address.solicitedNode(target), { kind: 'neighborSolicit', target, sourceLinkAddr: G_MAC }));
    }
    await tick();
    const out = drain(guest).map((f) => parseFrame(f));
    expect(out).toHaveLength(2);
    for (const [i, target] of [GW_LL, GW6].entries()) {
      const f = out[i];
      expect(f?.ethernet).toMatchObject({ src: GW_MAC, dst: G_MAC, etherType: EtherType.Ipv6 });
      if (f?.network.kind !== 'ipv6') throw new Error('not IPv6');
      expect(f.network.ip).toMatchObject({ src: target, dst: G_LL, hopLimit: 255 });
      expect(icmpOf(f)).toEqual({ kind: 'neighborAdvert', router: true, solicited: true, override: true, target, targetLinkAddr: GW_MAC });
    }
    await stack.close();
  });

  it('answers ICMPv6 echo to its addresses with the same data, not to multicast', async () => {
    const { stack, guest } = setup();
    const data = new Uint8Array(1000).map((_, i) => i * 7);
    guest.send(icmp6Frame(G6, GW6, { kind: 'echoRequest', ident: 0x1234, seqNo: 7, data }, { hopLimit: 64 }));
    guest.send(icmp6Frame(G_LL, GW_LL, { kind: 'echoRequest', ident: 1, seqNo: 1, data: new Uint8Array(0) }, { hopLimit: 64 }));
    guest.send(icmp6Frame(G_LL, Ipv6Address.LINK_LOCAL_ALL_NODES, { kind: 'echoRequest', ident: 1, seqNo: 2, data }, { hopLimit: 1 }));
    await tick();
    const out = drain(guest).map((f) => parseFrame(f)); // parseFrame verifies the checksum (v6 pseudo-header)
    expect(out).toHaveLength(2);
    expect(out[0]?.network.kind === 'ipv6' && out[0].network.ip).toMatchObject({ src: GW6, dst: G6 });
    expect(icmpOf(out[0])).toEqual({ kind: 'echoReply', ident: 0x1234, seqNo: 7, data });
    expect(icmpOf(out[1])).toMatchObject({ kind: 'echoReply', seqNo: 1 });
    expect(stack.stats().gateway.icmp6).toEqual({ requests: 3, replies: 2, ignored: 1 });
    await stack.close();
  });

  it('resolves a guest address with a Neighbor Solicitation before sending to it', async () => {
    const { stack, guest } = setup();
    const frame = new Uint8Array(14 + 40);
    Ipv6Repr.emit({ src: GW6, dst: G6, nextHeader: 59, payloadLen: 0, hopLimit: 64 }, Ipv6Packet.unchecked(frame.subarray(14)));
    expect(stack.gateway.sendIpv6Frame(G6, frame)).toBe(true);
    expect(stack.gateway.sendIpv6Frame(A('2001:db8::1'), frame)).toBe(false); // off-link
    let out = drain(guest).map((f) => parseFrame(f));
    expect(out).toHaveLength(1);
    expect(out[0]?.ethernet.dst).toEqual(EthernetAddress.parse('33:33:ff:00:00:02'));
    expect(icmpOf(out[0])).toEqual({ kind: 'neighborSolicit', target: G6, sourceLinkAddr: GW_MAC });
    guest.send(
      icmp6Frame(G6, GW6, { kind: 'neighborAdvert', router: false, solicited: true, override: true, target: G6, targetLinkAddr: G_MAC }),
    );
    await tick();
    out = drain(guest).map((f) => parseFrame(f));
    expect(out).toHaveLength(1);
    expect(out[0]?.ethernet).toMatchObject({ src: GW_MAC, dst: G_MAC, etherType: EtherType.Ipv6 });
    expect(out[0]?.network.kind === 'ipv6' && out[0].network.ip.nextHeader).toBe(59);
    await stack.close();
  });

  it('sends periodic RAs to all-nodes once a guest has spoken IPv6', async () => {
    const { stack, guest, clock } = setup();
    clock.advance(60_000);
    expect(drain(guest)).toHaveLength(0); // IPv4-only guests see nothing new
    guest.send(icmp6Frame(G_LL, GW_LL, { kind: 'echoRequest', ident: 1, seqNo: 1, data: new Uint8Array(0) }, { hopLimit: 64 }));
    await tick();
    drain(guest);
    clock.advance(60_000);
    const ras = drain(guest)
      .map((f) => parseFrame(f))
      .filter((f) => icmpOf(f).kind === 'routerAdvert');
    expect(ras.length).toBeGreaterThanOrEqual(3); // the first at the next tick, then every <= 16 s
    expect(ras.every((f) => f.ethernet.dst[0] === 0x33 && f.network.kind === 'ipv6' && Ipv6Address.equals(f.network.ip.dst, Ipv6Address.LINK_LOCAL_ALL_NODES))).toBe(true);
    await stack.close();
  });
});

describe('Stack: hostile IPv6 input', () => {
  it('ignores ND with a hop limit other than 255 (RFC 4861 §6.1.1, §7.1.1)', async () => {
    const { stack, guest } = setup();
    for (const hop of [0, 1, 64, 128, 254]) {
      guest.send(icmp6Frame(G_LL, Ipv6Address.LINK_LOCAL_ALL_ROUTERS, { kind: 'routerSolicit', sourceLinkAddr: G_MAC }, { hopLimit: hop }));
      guest.send(icmp6Frame(G_LL, Ipv6Address.solicitedNode(GW_LL), { kind: 'neighborSolicit', target: GW_LL, sourceLinkAddr: G_MAC }, { hopLimit: hop }));
    }
    await tick();
    expect(drain(guest)).toHaveLength(0);
    expect(stack.stats().gateway.ndp.invalid).toBe(10);
    await stack.close();
  });

  it('drops truncated frames, bad payload lengths, bad checksums and zero-length ND options as malformed', async () => {
    const { stack, guest } = setup();
    let n = 0;
    for (let len = 14; len < RS_FRAME.length; len++) {
      guest.send(RS_FRAME.slice(0, len));
      n++;
    }
    const longer = RS_FRAME.slice();
    longer[18] = 0;
    longer[19] = 0x20; // payload length 32 > the 16 bytes present
    guest.send(longer);
    const badSum = RS_FRAME.slice();
    badSum[57] = (badSum[57] as number) ^ 1;
    guest.send(badSum);
    // An ND option of length 0 (RFC 4861 §4.6 "MUST silently discard"), with a valid checksum.
    const zeroOpt = RS_FRAME.slice();
    zeroOpt[63] = 0;
    Icmpv6Packet.unchecked(zeroOpt.subarray(54)).fillChecksum(G_LL, Ipv6Address.LINK_LOCAL_ALL_ROUTERS);
    guest.send(zeroOpt);
    await tick();
    expect(drain(guest)).toHaveLength(0);
    const s = stack.stats().gateway;
    expect(s.malformed).toBe(n + 3);
    expect(s.ndp.received).toBe(0);
    await stack.close();
  });

  it('with ipv6: false, IPv6 frames are counted unhandled and never answered', async () => {
    const { stack, guest, clock } = setup({ ipv6: false });
    guest.send(RS_FRAME);
    guest.send(icmp6Frame(G6, GW6, { kind: 'echoRequest', ident: 1, seqNo: 1, data: new Uint8Array(8) }, { hopLimit: 64 }));
    await tick();
    clock.advance(60_000);
    expect(drain(guest)).toHaveLength(0);
    expect(stack.stats().gateway.unhandled).toBe(2);
    await stack.close();
  });

  it('keeps the neighbour table bounded whatever the guest claims', async () => {
    const { stack, guest } = setup({ neighborCacheSize: 64 });
    for (let i = 0; i < 500; i++) {
      const src = A(`fd00:192:168:65::${(i + 0x100).toString(16)}`);
      guest.send(icmp6Frame(src, Ipv6Address.solicitedNode(GW6), { kind: 'neighborSolicit', target: GW6, sourceLinkAddr: G_MAC }));
      if (i % 100 === 0) await tick();
    }
    await tick();
    const nd = stack.stats().gateway.ndp;
    expect(nd.cache.entries).toBe(64);
    expect(nd.solicitationsAnswered).toBe(500);
    await stack.close();
  });
});
