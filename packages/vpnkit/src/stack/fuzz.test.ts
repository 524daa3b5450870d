/**
 * 1,000,000 random and mutated frames thrown at the whole stack (switch,
 * gateway, ARP, DHCP, ICMP, reassembly, TCP and UDP NAT over IPv4 and
 * IPv6, DNS service, IPv6 neighbour discovery and echo):
 * nothing throws, every table stays within its bound, and the heap does not
 * grow beyond a stated bound.  The host side is a stand-in that refuses
 * every TCP connection and swallows UDP, so the run touches no network.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { HostNetwork } from '../nat/host.js';
import { tcpFrame, tcpFrame6, udpFrames, udpFrames6 } from '../nat/packet.js';
import { seededRandom } from '../tcp/isn.js';
import { ManualClock } from '../testing/clock.js';
import { createLinkPair } from '../link/pair.js';
import {
  ArpOperation,
  ArpPacket,
  ArpRepr,
  EtherType,
  EthernetAddress,
  EthernetFrame,
  EthernetRepr,
  Icmpv6Packet,
  Icmpv6Repr,
  IpProtocol,
  Ipv4Address,
  Ipv6Address,
  Ipv6Packet,
  Ipv6Repr,
  TcpFlags,
  type Icmpv6Repr as Icmpv6ReprT,
} from '../wire/index.js';
import { Stack } from './stack.js';

// Connections to 10.0.0.1:80 are accepted (by a local sink that reads and answers a little);
// every other TCP connection is refused.
let sinkPort = 0;
const sink = net.createServer({ allowHalfOpen: true }, (c) => {
  c.on('error', () => undefined);
  c.on('data', () => c.write('x'.repeat(100)));
  c.on('end', () => c.end());
});

const quietHost: HostNetwork = {
  connectTcp(host, port) {
    if (host === '10.0.0.1' && port === 80) return net.connect({ host: '127.0.0.1', port: sinkPort, allowHalfOpen: true });
    const s = new net.Socket();
    process.nextTick(() => s.destroy(Object.assign(new Error('refused by the fuzz host'), { code: 'ECONNREFUSED' })));
    return s;
  },
  udpSocket(family) {
    const s = dgram.createSocket(family === 4 ? 'udp4' : 'udp6');
    // Never sends: the destinations are random addresses.
    (s as unknown as { send: (...a: unknown[]) => void }).send = (...a: unknown[]) => {
      const cb = a.at(-1);
      if (typeof cb === 'function') (cb as (e: Error | null) => void)(null);
    };
    return s;
  },
  tcpServer(onConnection) {
    return net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, onConnection);
  },
};

// A real collection before each heap reading, so the bound is about what is retained.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const guestMac = EthernetAddress.parse('52:54:00:12:34:56');
const gwMac = EthernetAddress.parse('f6:16:36:bc:f9:c6');
const guestIp = Ipv4Address.parse('192.168.65.3');

function withEthernet(ipFrame: Uint8Array, src = guestMac, dst = gwMac): Uint8Array {
  EthernetRepr.emit({ src, dst, etherType: EtherType.Ipv4 }, EthernetFrame.unchecked(ipFrame));
  return ipFrame;
}

function withEthernet6(frame: Uint8Array): Uint8Array {
  const dst = frame.length >= 54 && frame[38] === 0xff ? Ipv6Address.multicastMac(frame.subarray(38, 54)) : gwMac;
  EthernetRepr.emit({ src: guestMac, dst, etherType: EtherType.Ipv6 }, EthernetFrame.unchecked(frame));
  return frame;
}

function icmp6Frame(src: Uint8Array, dst: Uint8Array, hopLimit: number, icmp: Icmpv6ReprT): Uint8Array {
  const len = Icmpv6Repr.bufferLen(icmp);
  const buf = new Uint8Array(54 + len);
  Ipv6Repr.emit({ src, dst, nextHeader: IpProtocol.Icmpv6, payloadLen: len, hopLimit }, Ipv6Packet.unchecked(buf.subarray(14)));
  Icmpv6Repr.emit(icmp, Icmpv6Packet.unchecked(buf.subarray(54)), src, dst);
  return withEthernet6(buf);
}

describe('the stack under 1,000,000 hostile frames', () => {
  it('never throws, keeps every table bounded, and its heap growth under 64 MiB', async () => {
    sinkPort = await new Promise<number>((r) => sink.listen(0, '127.0.0.1', () => r((sink.address() as net.AddressInfo).port)));
    // VPNKIT_FUZZ_SEED replays another run (the default is CI's).
    const rnd = seededRandom(Number(process.env['VPNKIT_FUZZ_SEED'] ?? 2026));
    const server = Ipv4Address.parse('10.0.0.1');
    // A few 4-tuples that live connections use, so their state machines get the noise too.
    const livePort = (): number => 40000 + (rnd() % 16);
    // IPv6: the guest's SLAAC-style address, addresses in the prefix it may claim, the gateway's.
    const prefix = Ipv6Address.parse('fd00:192:168:65::');
    const guest6 = Ipv6Address.parse('fd00:192:168:65:5054:ff:fe12:3456');
    const gw6 = Ipv6Address.parse('fd00:192:168:65::1');
    const gwLl = Ipv6Address.linkLocalFromMac(gwMac);
    const inPrefix = (): Uint8Array => {
      const a = prefix.slice();
      for (let i = 8; i < 16; i++) a[i] = rnd() & 0xff;
      return a;
    };
    const anyV6 = (): Uint8Array => {
      const a = new Uint8Array(16);
      for (let i = 0; i < 16; i++) a[i] = rnd() & 0xff;
      if (rnd() % 4 === 0) a.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]); // IPv4-mapped
      return a;
    };
    const pick = <T>(xs: readonly T[]): T => xs[rnd() % xs.length] as T;
    const clock = new ManualClock(1000);
    const stack = new Stack({ clock, host: quietHost, tcp: { maxConnections: 2048, maxPending: 256 }, udp: { maxFlows: 512 } });
    stack.start();
    const [, guestSide] = createLinkPair();
    // Frames enter exactly as from a link; what the stack sends goes to the pair's queue (bounded).
    const from = guestSide;

    const templates: Array<() => Uint8Array> = [
      // TCP SYN to a random host and port.
      () =>
        withEthernet(
          tcpFrame(guestIp, (rnd() | 0x0a000000) >>> 0, rnd() & 0xffff, {
            srcPort: 1024 + (rnd() % 60000),
            dstPort: rnd() & 0xffff,
            seqNumber: rnd() >>> 0,
            ackNumber: 0,
            flags: TcpFlags.Syn,
            windowLen: 65535,
            maxSegSize: 1460,
            windowScale: 7,
            sackPermitted: true,
            timestamp: { tsVal: rnd() >>> 0, tsEcr: 0 },
            payload: new Uint8Array(0),
          }),
        ),
      // SYNs and then anything at all, on a few 4-tuples the host accepts.
      () =>
        withEthernet(
          tcpFrame(guestIp, server, rnd() & 0xffff, {
            srcPort: livePort(),
            dstPort: 80,
            seqNumber: rnd() % 4 === 0 ? rnd() >>> 0 : 1000 + (rnd() % 5000),
            ackNumber: rnd() >>> 0,
            flags: rnd() % 5 === 0 ? TcpFlags.Syn : rnd() & 0x3f,
            windowLen: rnd() & 0xffff,
            ...(rnd() % 2 ? { timestamp: { tsVal: rnd() >>> 0, tsEcr: rnd() >>> 0 } } : {}),
            ...(rnd() % 3 === 0 ? { sackBlocks: [{ left: rnd() >>> 0, right: rnd() >>> 0 }] } : {}),
            payload: new Uint8Array(rnd() % 1400),
          }),
        ),
      // TCP data/ACK/FIN/RST without a connection.
      () =>
        withEthernet(
          tcpFrame(guestIp, Ipv4Address.parse('192.168.65.2'), rnd() & 0xffff, {
            srcPort: rnd() & 0xffff,
            dstPort: rnd() & 0xffff,
            seqNumber: rnd() >>> 0,
            ackNumber: rnd() >>> 0,
            flags: rnd() & 0x3f,
            windowLen: rnd() & 0xffff,
            payload: new Uint8Array(rnd() % 200),
          }),
        ),
      // UDP to a random address, to the gateway's DNS, or fragmented.
      () => {
        const dst = rnd() % 3 === 0 ? Ipv4Address.parse('192.168.65.1') : (rnd() | 0x0a000000) >>> 0;
        const frames = udpFrames(guestIp, dst, rnd() & 0xffff, rnd() & 0xffff, rnd() % 2 ? 53 : rnd() & 0xffff, new Uint8Array(rnd() % 3000), 1500);
        return withEthernet(frames[rnd() % Math.max(1, frames.length)] ?? new Uint8Array(60));
      },
      // TCP over IPv6: SYNs to anywhere (the host alias, mapped addresses...), or any flags.
      () => {
        const dst = pick([anyV6(), Ipv6Address.parse('fd00:192:168:65::2'), gw6, inPrefix()]);
        return withEthernet6(
          tcpFrame6(guest6, dst, {
            srcPort: rnd() % 2 ? livePort() : rnd() & 0xffff,
            dstPort: rnd() % 2 ? 53 : rnd() & 0xffff,
            seqNumber: rnd() >>> 0,
            ackNumber: rnd() >>> 0,
            flags: rnd() % 2 ? TcpFlags.Syn : rnd() & 0x3f,
            windowLen: rnd() & 0xffff,
            maxSegSize: 1440,
            payload: new Uint8Array(rnd() % 1400),
          }),
        );
      },
      // UDP over IPv6, to anywhere or the gateway's DNS, or one of its fragments.
      () => {
        const dst = rnd() % 3 === 0 ? gw6 : anyV6();
        const frames = udpFrames6(guest6, dst, rnd() % 64, rnd() & 0xffff, rnd() % 2 ? 53 : rnd() & 0xffff, new Uint8Array(rnd() % 3000), 1500);
        return withEthernet6(frames[rnd() % Math.max(1, frames.length)] ?? new Uint8Array(60));
      },
      // Neighbour discovery and echo with random sources, targets and hop limits.
      () => {
        const src = pick([inPrefix(), guest6, Ipv6Address.UNSPECIFIED, gw6, anyV6()]);
        const hop = rnd() % 4 === 0 ? rnd() & 0xff : 255;
        const target = pick([gw6, gwLl, inPrefix(), Ipv6Address.parse('fd00:192:168:65::2')]);
        const mac = rnd() % 8 === 0 ? EthernetAddress.BROADCAST : guestMac;
        const icmp: Icmpv6ReprT = pick<() => Icmpv6ReprT>([
          () => ({ kind: 'neighborSolicit', target, ...(rnd() % 2 ? { sourceLinkAddr: mac } : {}) }),
          () => ({ kind: 'neighborAdvert', router: false, solicited: rnd() % 2 === 0, override: true, target: inPrefix(), targetLinkAddr: mac }),
          () => ({ kind: 'routerSolicit', ...(rnd() % 2 ? { sourceLinkAddr: mac } : {}) }),
          () => ({ kind: 'echoRequest', ident: rnd() & 0xffff, seqNo: rnd() & 0xffff, data: new Uint8Array(rnd() % 1200) }),
        ])();
        const dst =
          icmp.kind === 'neighborSolicit'
            ? Ipv6Address.solicitedNode(target)
            : icmp.kind === 'routerSolicit'
              ? Ipv6Address.LINK_LOCAL_ALL_ROUTERS
              : icmp.kind === 'echoRequest'
                ? pick([gw6, gwLl, Ipv6Address.LINK_LOCAL_ALL_NODES])
                : Ipv6Address.LINK_LOCAL_ALL_NODES;
        return icmp6Frame(src, dst, hop, icmp);
      },
      // ARP request.
      () => {
        const buf = new Uint8Array(42);
        EthernetRepr.emit({ src: guestMac, dst: EthernetAddress.BROADCAST, etherType: EtherType.Arp }, EthernetFrame.unchecked(buf));
        ArpRepr.emit(
          {
            operation: ArpOperation.Request,
            senderHardwareAddr: guestMac,
            senderProtocolAddr: (0xc0a84100 | (rnd() & 0xff)) >>> 0,
            targetHardwareAddr: new Uint8Array(6),
            targetProtocolAddr: (0xc0a84100 | (rnd() & 0xff)) >>> 0,
          },
          ArpPacket.unchecked(buf.subarray(14)),
        );
        return buf;
      },
      // Pure noise.
      () => {
        const b = new Uint8Array(rnd() % 1600);
        for (let i = 0; i < b.length; i += 4) {
          const v = rnd();
          b[i] = v;
          b[i + 1] = v >>> 8;
          b[i + 2] = v >>> 16;
          b[i + 3] = v >>> 24;
        }
        if (b.length >= 14 && rnd() % 2) b.set(gwMac, 0);
        return b;
      },
    ];

    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    let maxConnections = 0;
    let maxUdp = 0;
    let maxNeighbors = 0;
    let maxNdPending = 0;
    const N = 1_000_000;
    for (let i = 0; i < N; i++) {
      const make = templates[rnd() % templates.length] as () => Uint8Array;
      let frame = make();
      const len = frame.length;
      const how = rnd() % 4;
      if (how === 1 && frame.length > 0) {
        // Flip 1-4 bytes anywhere (checksums usually catch it: that path counts too).
        for (let k = 1 + (rnd() % 4); k > 0; k--) {
          const at = rnd() % len;
          frame[at] = (frame[at] as number) ^ (1 << rnd() % 8);
        }
      } else if (how === 2 && len > 0) {
        frame = frame.subarray(0, rnd() % len);
      }
      stack.switch.input(frame, from);
      if (i % 1000 === 0) {
        // Let host sockets settle (the stand-in refuses on the next tick) and timers run.
        await new Promise((r) => setImmediate(r));
        clock.advance(50);
        const s = stack.stats();
        maxConnections = Math.max(maxConnections, s.tcp.connections + s.tcp.pending);
        maxUdp = Math.max(maxUdp, s.udp.flows);
        maxNeighbors = Math.max(maxNeighbors, s.gateway.ndp.cache.entries);
        maxNdPending = Math.max(maxNdPending, s.gateway.ndp.pending.packets);
      }
    }
    await new Promise((r) => setImmediate(r));
    clock.advance(120_000);
    gc();
    const growth = process.memoryUsage().heapUsed - heapBefore;
    const s = stack.stats();
    console.log(
      `1M frames: malformed=${s.gateway.malformed} unhandled=${s.gateway.unhandled} tcp=${JSON.stringify(s.tcp)} udp=${JSON.stringify(s.udp)} ` +
        `reassembly=${JSON.stringify(s.gateway.reassembly)} reassembly6=${JSON.stringify(s.gateway.reassembly6)} ndp=${JSON.stringify(s.gateway.ndp)} icmp6=${JSON.stringify(s.gateway.icmp6)} heap growth ${(growth / 2 ** 20).toFixed(1)} MiB`,
    );
    expect(s.switch.received).toBe(N);
    expect(maxConnections).toBeLessThanOrEqual(2048 + 256);
    expect(maxUdp).toBeLessThanOrEqual(512);
    expect(maxNeighbors).toBeLessThanOrEqual(256);
    expect(maxNdPending).toBeLessThanOrEqual(128);
    // The IPv6 paths were reached, not just parsed away.
    expect(s.gateway.ndp.solicitationsAnswered).toBeGreaterThan(0);
    expect(s.gateway.ndp.invalid).toBeGreaterThan(0);
    expect(s.gateway.icmp6.replies).toBeGreaterThan(0);
    expect(s.gateway.reassembly.bufferedBytes).toBeLessThanOrEqual(1 << 20);
    expect(s.gateway.reassembly6.bufferedBytes).toBeLessThanOrEqual(1 << 20);
    expect(growth).toBeLessThan(64 * 2 ** 20);
    expect(s.tcp.opened).toBeGreaterThan(0);
    await stack.close();
    sink.close();
  }, 300_000);
});
