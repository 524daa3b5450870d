import { describe, expect, it } from 'vitest';
import { createLinkPair } from '../link/pair.js';
import type { FrameQueue } from '../switch/frame-queue.js';
import type { Link } from '../switch/link.js';
import { ManualClock } from '../testing/clock.js';
import {
  ArpOperation,
  ArpPacket,
  ArpRepr,
  DhcpMessageType,
  DhcpPacket,
  DhcpRepr,
  EtherType,
  EthernetAddress,
  EthernetFrame,
  EthernetRepr,
  Ipv4Address,
  Ipv4Packet,
  Ipv4Repr,
  parseFrame,
} from '../wire/index.js';
import { dhcpDiscoverFrame } from '../testing/wire.fixture.js';
import { Stack } from './stack.js';

const GUEST = EthernetAddress.parse('02:50:00:00:00:01');
const GW_MAC = EthernetAddress.parse('f6:16:36:bc:f9:c6');
const ip = Ipv4Address.parse;

function drain(l: Link): Uint8Array[] {
  const q = l.frames() as FrameQueue;
  const out: Uint8Array[] = [];
  for (let f = q.shift(); f !== undefined; f = q.shift()) out.push(f);
  return out;
}

function arpFrame(op: number, spa: number, tpa: number): Uint8Array {
  const buf = new Uint8Array(42);
  EthernetRepr.emit({ src: GUEST, dst: EthernetAddress.BROADCAST, etherType: EtherType.Arp }, EthernetFrame.unchecked(buf));
  const r: ArpRepr = {
    operation: op as 1 | 2,
    senderHardwareAddr: GUEST,
    senderProtocolAddr: spa,
    targetHardwareAddr: EthernetAddress.ZERO,
    targetProtocolAddr: tpa,
  };
  ArpRepr.emit(r, ArpPacket.unchecked(buf.subarray(14)));
  return buf;
}

const discover = (): Uint8Array => dhcpDiscoverFrame(GUEST);

async function tick(): Promise<void> {
  await new Promise((r) => setImmediate(r));
}

describe('Stack over an in-memory link', () => {
  it('answers ARP for the gateway and DHCP DISCOVER with an OFFER', async () => {
    const clock = new ManualClock();
    const stack = new Stack({ clock });
    stack.start();
    const [port, guest] = createLinkPair();
    void stack.addLink(port);

    guest.send(arpFrame(ArpOperation.Request, ip('192.168.65.3'), ip('192.168.65.1')));
    guest.send(discover());
    await tick();
    const out = drain(guest).map((f) => parseFrame(f));
    expect(out).toHaveLength(2);
    const [arp, offer] = out;
    expect(arp?.network.kind === 'arp' && arp.network.arp.senderHardwareAddr).toEqual(GW_MAC);
    expect(arp?.ethernet.dst).toEqual(GUEST);
    if (offer?.network.kind !== 'ipv4' || offer.network.transport.kind !== 'udp') throw new Error('no UDP');
    const d = DhcpRepr.parse(DhcpPacket.checked(offer.network.transport.udp.payload));
    expect(d.messageType).toBe(DhcpMessageType.Offer);
    expect(Ipv4Address.format(d.yourIp)).toBe('192.168.65.3');
    expect(offer.ethernet.dst).toEqual(EthernetAddress.BROADCAST);
    await stack.close();
  });

  it('counts and drops hostile frames without crashing', async () => {
    const clock = new ManualClock();
    const stack = new Stack({ clock });
    stack.start();
    const [port, guest] = createLinkPair();
    void stack.addLink(port);
    let seed = 1;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let i = 0; i < 2000; i++) {
      const f = discover();
      for (let k = 0; k < 4; k++) f[14 + (rnd() * 3) % (f.length - 14)] = rnd();
      f.set(GW_MAC, 0);
      guest.send(f);
      if (i % 500 === 0) await tick();
    }
    await tick();
    const s = stack.stats();
    expect(s.gateway.frames).toBe(2000);
    expect(s.gateway.malformed).toBeGreaterThan(0);
    await stack.close();
  });

  it('parks IPv4 for an unknown guest, ARPs for it (rate-limited), and sends once resolved', async () => {
    const clock = new ManualClock();
    const stack = new Stack({ clock });
    stack.start();
    const [port, guest] = createLinkPair();
    void stack.addLink(port);
    const pkt = new Uint8Array(28);
    Ipv4Repr.emit(
      { src: ip('192.168.65.1'), dst: ip('192.168.65.9'), protocol: 253, payloadLen: 8, ttl: 64 },
      Ipv4Packet.unchecked(pkt),
    );
    expect(stack.sendIpv4(ip('192.168.65.9'), pkt)).toBe(true);
    expect(stack.sendIpv4(ip('10.0.0.1'), pkt)).toBe(false);
    let out = drain(guest).map((f) => parseFrame(f));
    expect(out).toHaveLength(1);
    expect(out[0]?.network.kind === 'arp' && out[0].network.arp.targetProtocolAddr).toBe(ip('192.168.65.9'));
    clock.advance(1000);
    expect(drain(guest)).toHaveLength(1); // retry after 1 s
    const reply = arpFrame(ArpOperation.Reply, ip('192.168.65.9'), ip('192.168.65.1'));
    reply.set(GW_MAC, 0);
    guest.send(reply);
    await tick();
    out = drain(guest).map((f) => parseFrame(f));
    expect(out).toHaveLength(1);
    expect(out[0]?.ethernet).toMatchObject({ dst: GUEST, etherType: EtherType.Ipv4 });
    await stack.close();
    expect(clock.pending).toBe(0);
  });
});
