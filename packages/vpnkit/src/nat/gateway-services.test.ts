/**
 * The gateway's own TCP services (DNS on port 53) share the connection
 * table's bound with host connections, over IPv4 and IPv6: a guest
 * opening sessions past `maxConnections` gets RSTs, not more flows.
 */
import { describe, expect, it } from 'vitest';
import { createLinkPair } from '../link/pair.js';
import { Stack } from '../stack/stack.js';
import type { FrameQueue } from '../switch/frame-queue.js';
import type { Link } from '../switch/link.js';
import { ManualClock } from '../testing/clock.js';
import { EtherType, EthernetAddress, EthernetRepr, EthernetFrame, Ipv4Address, Ipv6Address, TcpFlags, parseFrame, type TcpRepr } from '../wire/index.js';
import { tcpFrame, tcpFrame6 } from './packet.js';

const guestMac = EthernetAddress.parse('52:54:00:12:34:56');
const gwMac = EthernetAddress.parse('f6:16:36:bc:f9:c6');
const guest4 = Ipv4Address.parse('192.168.65.3');
const gw4 = Ipv4Address.parse('192.168.65.1');
const guest6 = Ipv6Address.parse('fd00:192:168:65:5054:ff:fe12:3456');
const gw6 = Ipv6Address.parse('fd00:192:168:65::1');

function syn(srcPort: number): TcpRepr {
  return {
    srcPort,
    dstPort: 53,
    seqNumber: 1000 + srcPort,
    ackNumber: 0,
    flags: TcpFlags.Syn,
    windowLen: 65535,
    maxSegSize: 1460,
    payload: new Uint8Array(0),
  };
}

function framed(f: Uint8Array, etherType: number): Uint8Array {
  EthernetRepr.emit({ src: guestMac, dst: gwMac, etherType }, EthernetFrame.unchecked(f));
  return f;
}

function drainFlags(l: Link): { synAcks: number; resets: number } {
  const q = l.frames() as FrameQueue;
  let synAcks = 0;
  let resets = 0;
  for (let f = q.shift(); f !== undefined; f = q.shift()) {
    const p = parseFrame(f);
    const n = p.network;
    const t = n.kind === 'ipv4' || n.kind === 'ipv6' ? n.transport : undefined;
    if (t?.kind !== 'tcp') continue;
    if (t.tcp.flags & TcpFlags.Rst) resets++;
    else if ((t.tcp.flags & (TcpFlags.Syn | TcpFlags.Ack)) === (TcpFlags.Syn | TcpFlags.Ack)) synAcks++;
  }
  return { synAcks, resets };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("the gateway's TCP services", () => {
  it('stay within maxConnections over IPv4 and IPv6; the rest are refused with a RST', async () => {
    const clock = new ManualClock(1000);
    const dns = { handle: () => Promise.resolve(undefined) };
    const stack = new Stack({ clock, dns, tcp: { maxConnections: 100 } });
    stack.start();
    const [port, guest] = createLinkPair({ capacity: 4096 });
    void stack.addLink(port);
    let synAcks = 0;
    let resets = 0;
    for (let i = 0; i < 250; i++) {
      stack.switch.input(framed(tcpFrame(guest4, gw4, i, syn(20000 + i)), EtherType.Ipv4), port);
      stack.switch.input(framed(tcpFrame6(guest6, gw6, syn(30000 + i)), EtherType.Ipv6), port);
      if (i % 50 === 49) {
        await tick();
        clock.advance(10);
        const d = drainFlags(guest);
        synAcks += d.synAcks;
        resets += d.resets;
      }
    }
    await tick();
    const s = stack.stats().tcp;
    // Before the fix, 500 sessions were opened here.
    expect(s.connections).toBe(100);
    expect(s.opened).toBe(100);
    expect(s.overflow).toBe(400);
    // SYNs alternate IPv4 / IPv6: the first 50 of each are accepted.  The IPv4 answers are all
    // out (the guest's MAC came with its frames); the IPv6 ones wait for neighbour discovery.
    expect(synAcks).toBe(50);
    expect(resets).toBe(200);
    await stack.close();
  });
});
