/**
 * The NAT over IPv6 with a hand-driven guest on an in-memory link and real
 * host sockets on ::1: a SYN to the IPv6 host alias becomes a connect() to
 * [::1]:port, UDP to it a datagram to [::1]:port, and what must not leave
 * (IPv4-mapped, loopback, link-local, other guests) does not.
 */
import * as dgram from 'node:dgram';
import { execFileSync } from 'node:child_process';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLinkPair } from '../link/pair.js';
import { Stack } from '../stack/stack.js';
import type { FrameQueue } from '../switch/frame-queue.js';
import type { Link } from '../switch/link.js';
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
  Ipv6ExtHeader,
  TcpFlags,
  TcpPacket,
  TcpRepr,
  UdpPacket,
  UdpRepr,
  parseFrame,
  type FrameRepr,
} from '../wire/index.js';
import { ManualClock } from '../testing/clock.js';
import { nodeHost } from './host.js';
import type { HostIcmp6 } from './icmp-nat.js';
import { natRoutable6, udpFrames6 } from './packet.js';

const A = Ipv6Address.parse;
const GW_MAC = EthernetAddress.parse('f6:16:36:bc:f9:c6');
const G_MAC = EthernetAddress.parse('02:50:00:00:00:07');
const G6 = A('fd00:192:168:65::77');
const HOST6 = A('fd00:192:168:65::2');
const GW6 = A('fd00:192:168:65::1');

const hasLoopback6 = ((): boolean => {
  try {
    return execFileSync('ip', ['-6', 'addr', 'show', 'dev', 'lo']).toString().includes('::1/128');
  } catch {
    return false;
  }
})();
if (!hasLoopback6) console.log('IPv6 NAT socket tests skipped: the host has no ::1');

function frame6(dst: Uint8Array, nextHeader: number, l4len: number, write: (b: Uint8Array) => void): Uint8Array {
  const buf = new Uint8Array(14 + 40 + l4len);
  EthernetRepr.emit({ src: G_MAC, dst: GW_MAC, etherType: EtherType.Ipv6 }, EthernetFrame.unchecked(buf));
  Ipv6Repr.emit({ src: G6, dst, nextHeader, payloadLen: l4len, hopLimit: 64 }, Ipv6Packet.unchecked(buf.subarray(14)));
  write(buf.subarray(54));
  return buf;
}

function syn(dst: Uint8Array, dstPort: number, srcPort = 40000): Uint8Array {
  const seg: TcpRepr = { srcPort, dstPort, seqNumber: 1000, ackNumber: 0, flags: TcpFlags.Syn, windowLen: 65535, maxSegSize: 1440, payload: new Uint8Array(0) };
  return frame6(dst, IpProtocol.Tcp, TcpRepr.bufferLen(seg), (b) => TcpRepr.emit(seg, TcpPacket.unchecked(b), G6, dst));
}

function udp(dst: Uint8Array, dstPort: number, payload: Uint8Array, srcPort = 40001): Uint8Array {
  const r: UdpRepr = { srcPort, dstPort, payload };
  return frame6(dst, IpProtocol.Udp, UdpRepr.bufferLen(r), (b) => UdpRepr.emit(r, UdpPacket.unchecked(b), G6, dst));
}

async function waitFrames(l: Link, pred: (f: FrameRepr) => boolean, ms = 3000): Promise<FrameRepr> {
  const q = l.frames() as FrameQueue;
  const end = Date.now() + ms;
  for (;;) {
    for (let raw = q.shift(); raw !== undefined; raw = q.shift()) {
      const f = parseFrame(raw); // verifies checksums over the IPv6 pseudo-header
      if (pred(f)) return f;
    }
    if (Date.now() > end) throw new Error('no matching frame');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function tcpOf(f: FrameRepr): TcpRepr & { src: Uint8Array; dst: Uint8Array } {
  if (f.network.kind !== 'ipv6' || f.network.transport.kind !== 'tcp') throw new Error('not TCP/IPv6');
  return { ...f.network.transport.tcp, src: f.network.ip.src, dst: f.network.ip.dst };
}

const isTcp6 = (f: FrameRepr): boolean => f.network.kind === 'ipv6' && f.network.transport.kind === 'tcp';
const isUdp6 = (f: FrameRepr): boolean => f.network.kind === 'ipv6' && f.network.transport.kind === 'udp';

describe('natRoutable6', () => {
  it('lets global and host-alias destinations through, nothing that reaches the host or link by the back door', () => {
    const c = new Stack({}).config;
    for (const ok of ['2001:db8::1', '64:ff9b::808:808', 'fd00:192:168:65::2', 'fd00:1234::1']) expect(natRoutable6(c, A(ok)), ok).toBe(true);
    for (const no of ['::', '::1', '::ffff:127.0.0.1', '::ffff:192.168.65.2', '::127.0.0.1', 'fe80::1', 'ff02::1', 'ff0e::1', 'fd00:192:168:65::1', 'fd00:192:168:65::77']) {
      expect(natRoutable6(c, A(no)), no).toBe(false);
    }
  });
});

describe.skipIf(!hasLoopback6)('NAT over IPv6 with host sockets on ::1', () => {
  let stack: Stack | undefined;
  const closers: Array<() => void> = [];
  afterEach(async () => {
    await stack?.close();
    for (const c of closers.splice(0)) c();
  });

  function start(opts: ConstructorParameters<typeof Stack>[0] = {}): Link {
    stack = new Stack(opts);
    stack.start();
    const [port, guest] = createLinkPair();
    void stack.addLink(port);
    return guest;
  }

  it('a SYN to the host alias connects to [::1]:port and the SYN/ACK comes from the alias; data flows both ways', async () => {
    const got: Buffer[] = [];
    const server = net.createServer((s) => {
      // The stack's close after the test resets the relayed connection: expected, not a failure.
      s.on('error', () => undefined);
      s.on('data', (d) => {
        got.push(d);
        s.end('pong over v6');
      });
    });
    await new Promise<void>((r) => server.listen(0, '::1', r));
    closers.push(() => server.close());
    const port = (server.address() as net.AddressInfo).port;
    const guest = start();
    guest.send(syn(HOST6, port));
    const synAck = tcpOf(await waitFrames(guest, isTcp6));
    expect(synAck.flags & (TcpFlags.Syn | TcpFlags.Ack)).toBe(TcpFlags.Syn | TcpFlags.Ack);
    expect(synAck.ackNumber).toBe(1001);
    expect(Ipv6Address.format(synAck.src)).toBe('fd00:192:168:65::2');
    expect(Ipv6Address.format(synAck.dst)).toBe('fd00:192:168:65::77');
    expect(synAck.maxSegSize).toBe(1440); // MTU 1500 - 40 (IPv6) - 20 (TCP)
    const ack = (flags: number, seq: number, payload: Uint8Array): Uint8Array => {
      const seg: TcpRepr = { srcPort: 40000, dstPort: port, seqNumber: seq, ackNumber: (synAck.seqNumber + 1) >>> 0, flags, windowLen: 65535, payload };
      return frame6(HOST6, IpProtocol.Tcp, TcpRepr.bufferLen(seg), (b) => TcpRepr.emit(seg, TcpPacket.unchecked(b), G6, HOST6));
    };
    guest.send(ack(TcpFlags.Ack, 1001, new Uint8Array(0)));
    guest.send(ack(TcpFlags.Ack | TcpFlags.Psh, 1001, new TextEncoder().encode('ping over v6')));
    const data = tcpOf(await waitFrames(guest, (f) => isTcp6(f) && tcpOf(f).payload.length > 0));
    expect(new TextDecoder().decode(data.payload)).toBe('pong over v6');
    expect(Buffer.concat(got).toString()).toBe('ping over v6');
    expect(stack?.stats().tcp.opened).toBe(1);
  });

  it('FIN-WAIT-2: a guest that never sends its FIN is reset after 60 s and the flow and host socket are freed', async () => {
    let hostSide: net.Socket | undefined;
    let hostClosed!: Promise<void>;
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      hostSide = s;
      s.on('error', () => undefined);
      hostClosed = new Promise<void>((resolve) => s.on('close', () => resolve()));
      s.end(); // the host half-closes at once and then waits for the guest
    });
    await new Promise<void>((r) => server.listen(0, '::1', r));
    closers.push(() => server.close());
    const port = (server.address() as net.AddressInfo).port;
    const clock = new ManualClock(1_000_000);
    const guest = start({ clock });
    guest.send(syn(HOST6, port));
    const synAck = tcpOf(await waitFrames(guest, isTcp6));
    const seg = (flags: number, ack: number): Uint8Array => {
      const r: TcpRepr = { srcPort: 40000, dstPort: port, seqNumber: 1001, ackNumber: ack, flags, windowLen: 65535, payload: new Uint8Array(0) };
      return frame6(HOST6, IpProtocol.Tcp, TcpRepr.bufferLen(r), (b) => TcpRepr.emit(r, TcpPacket.unchecked(b), G6, HOST6));
    };
    guest.send(seg(TcpFlags.Ack, (synAck.seqNumber + 1) >>> 0));
    const fin = tcpOf(await waitFrames(guest, (f) => isTcp6(f) && (tcpOf(f).flags & TcpFlags.Fin) !== 0));
    guest.send(seg(TcpFlags.Ack, (fin.seqNumber + 1) >>> 0)); // our FIN acknowledged: FIN-WAIT-2
    await new Promise((r) => setTimeout(r, 50));
    expect(stack!.stats().tcp.connections).toBe(1);
    clock.advance(59_000);
    expect(stack!.stats().tcp.connections).toBe(1);
    expect(hostSide?.destroyed).toBe(false);
    // Other traffic keeps the guest's neighbour entry (60 s) fresh, so the RST need not wait for ND.
    guest.send(udp(GW6, 9, Uint8Array.of(0)));
    await new Promise((r) => setTimeout(r, 20));
    clock.advance(1_100);
    const rst = tcpOf(await waitFrames(guest, (f) => isTcp6(f) && (tcpOf(f).flags & TcpFlags.Rst) !== 0));
    expect(rst.seqNumber).toBe((fin.seqNumber + 1) >>> 0);
    expect(stack!.stats().tcp.connections).toBe(0);
    await hostClosed; // the host socket was reset, not left half-open
  });

  it('TIME-WAIT after the host closed first: kept apart from the connection table, FIN re-acknowledged, a newer SYN reopens, ends after 2*MSL; bounded', async () => {
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      s.on('error', () => undefined);
      s.end(); // the host closes first: we send the first FIN, so TIME-WAIT is ours
      s.resume();
      s.on('end', () => s.destroy());
    });
    await new Promise<void>((r) => server.listen(0, '::1', r));
    closers.push(() => server.close());
    const port = (server.address() as net.AddressInfo).port;
    const clock = new ManualClock(1_000_000);
    const guest = start({ clock, tcp: { maxTimeWait: 2 } });
    const seg = (srcPort: number, flags: number, seq: number, ack: number): Uint8Array => {
      const r: TcpRepr = { srcPort, dstPort: port, seqNumber: seq, ackNumber: ack, flags, windowLen: 65535, payload: new Uint8Array(0) };
      return frame6(HOST6, IpProtocol.Tcp, TcpRepr.bufferLen(r), (b) => TcpRepr.emit(r, TcpPacket.unchecked(b), G6, HOST6));
    };
    const from = (srcPort: number) => (f: FrameRepr) => isTcp6(f) && tcpOf(f).dstPort === srcPort;
    /** Open from `srcPort`, take the host's FIN, answer with ours: we end in TIME-WAIT. */
    const closeToTimeWait = async (srcPort: number): Promise<{ ourFin: number }> => {
      guest.send(syn(HOST6, port, srcPort));
      const synAck = tcpOf(await waitFrames(guest, from(srcPort)));
      guest.send(seg(srcPort, TcpFlags.Ack, 1001, (synAck.seqNumber + 1) >>> 0));
      const fin = tcpOf(await waitFrames(guest, (f) => from(srcPort)(f) && (tcpOf(f).flags & TcpFlags.Fin) !== 0));
      guest.send(seg(srcPort, TcpFlags.Fin | TcpFlags.Ack, 1001, (fin.seqNumber + 1) >>> 0));
      const last = tcpOf(await waitFrames(guest, (f) => from(srcPort)(f) && tcpOf(f).ackNumber === 1002));
      expect(last.flags).toBe(TcpFlags.Ack);
      return { ourFin: fin.seqNumber };
    };

    const a = await closeToTimeWait(40100);
    await new Promise((r) => setTimeout(r, 30));
    expect(stack!.stats().tcp).toMatchObject({ connections: 0, timeWait: 1 });
    // The guest did not hear our ACK and sends its FIN again: same ACK.
    guest.send(seg(40100, TcpFlags.Fin | TcpFlags.Ack, 1001, (a.ourFin + 1) >>> 0));
    const again = tcpOf(await waitFrames(guest, from(40100)));
    expect([again.flags, again.seqNumber, again.ackNumber]).toEqual([TcpFlags.Ack, (a.ourFin + 1) >>> 0, 1002]);
    // An old SYN (sequence number not past the old connection) gets an ACK, not a connection.
    guest.send(seg(40100, TcpFlags.Syn, 900, 0));
    expect(tcpOf(await waitFrames(guest, from(40100))).flags).toBe(TcpFlags.Ack);
    expect(stack!.stats().tcp.opened).toBe(1);
    // A SYN past it reopens the pair of ends as a new connection.
    guest.send(seg(40100, TcpFlags.Syn, 500_000, 0));
    const reopened = tcpOf(await waitFrames(guest, from(40100)));
    expect(reopened.flags).toBe(TcpFlags.Syn | TcpFlags.Ack);
    expect(reopened.ackNumber).toBe(500_001);
    expect(stack!.stats().tcp).toMatchObject({ opened: 2, timeWait: 0 });
    guest.send(seg(40100, TcpFlags.Rst, 500_001, 0));

    // Three more into TIME-WAIT with room for two: the oldest ends early.
    await closeToTimeWait(40101);
    await closeToTimeWait(40102);
    await closeToTimeWait(40103);
    await new Promise((r) => setTimeout(r, 30));
    expect(stack!.stats().tcp).toMatchObject({ connections: 0, timeWait: 2, timeWaitOverflow: 1 });
    // 2*MSL (60 s) later they are gone; a FIN then meets no connection and gets a RST.
    clock.advance(60_001);
    expect(stack!.stats().tcp.timeWait).toBe(0);
    guest.send(seg(40103, TcpFlags.Fin | TcpFlags.Ack, 1001, 1));
    expect(tcpOf(await waitFrames(guest, from(40103))).flags & TcpFlags.Rst).toBe(TcpFlags.Rst);
  });

  it('a SYN to a closed port on ::1 is answered with a RST', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '::1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const guest = start();
    guest.send(syn(HOST6, port));
    const rst = tcpOf(await waitFrames(guest, isTcp6));
    expect(rst.flags & TcpFlags.Rst).toBe(TcpFlags.Rst);
    expect(rst.ackNumber).toBe(1001);
    expect(stack?.stats().tcp.refused).toBe(1);
  });

  it('UDP to the host alias reaches [::1]:port and the reply comes back from the alias', async () => {
    const server = dgram.createSocket('udp6');
    server.on('message', (m, r) => server.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address));
    await new Promise<void>((r) => server.bind(0, '::1', r));
    closers.push(() => server.close());
    const guest = start();
    guest.send(udp(HOST6, server.address().port, new TextEncoder().encode('hello')));
    const f = await waitFrames(guest, isUdp6);
    if (f.network.kind !== 'ipv6' || f.network.transport.kind !== 'udp') throw new Error('unreachable');
    expect(new TextDecoder().decode(f.network.transport.udp.payload)).toBe('echo:hello');
    expect(Ipv6Address.format(f.network.ip.src)).toBe('fd00:192:168:65::2');
    expect(f.network.transport.udp.srcPort).toBe(server.address().port);
    expect(f.network.transport.udp.dstPort).toBe(40001);
  });

  it('UDP to a closed port on ::1 is answered with an ICMPv6 port unreachable quoting the datagram', async () => {
    const probe = dgram.createSocket('udp6');
    await new Promise<void>((r) => probe.bind(0, '::1', r));
    const port = probe.address().port;
    await new Promise<void>((r) => probe.close(() => r()));
    const guest = start({ udp: { icmpErrors: { burst: 2, intervalMs: 60_000 } } });
    const sent = udp(HOST6, port, new TextEncoder().encode('anyone?'));
    guest.send(sent);
    const f = await waitFrames(guest, (x) => x.network.kind === 'ipv6' && x.network.transport.kind === 'icmpv6');
    if (f.network.kind !== 'ipv6' || f.network.transport.kind !== 'icmpv6') throw new Error('unreachable');
    const icmp = f.network.transport.icmp;
    expect(icmp.kind).toBe('dstUnreachable');
    if (icmp.kind !== 'dstUnreachable') return;
    expect(icmp.code).toBe(4);
    expect(Ipv6Address.format(f.network.ip.src)).toBe('fd00:192:168:65::2');
    expect(Ipv6Address.equals(f.network.ip.dst, G6)).toBe(true);
    // The invoking packet, byte for byte: its IPv6 header and the whole UDP datagram.
    expect([...icmp.data]).toEqual([...sent.subarray(54)]);
    expect(Ipv6Address.equals(icmp.header.src, G6) && Ipv6Address.equals(icmp.header.dst, HOST6)).toBe(true);
    // Rate-limited: of five more refusals, one more error (the burst of 2) gets through.
    for (let i = 0; i < 5; i++) {
      guest.send(udp(HOST6, port, Uint8Array.of(i)));
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 100));
    const st = stack!.stats().udp;
    expect(st.refused).toBe(6);
    expect(st.icmpErrors).toBe(2);
    expect(st.icmpLimited).toBe(4);
  });

  it('port forwards to an IPv6 guest: validation, ids and defaults', async () => {
    start();
    const fw = stack!.forwards;
    const bad = async (spec: object): Promise<string> => fw.expose(spec as never).then(() => 'ok', (e: { code: string }) => e.code);
    for (const g of ['fd00:192:168:65::1', 'fd00:192:168:65::2', 'fd00:192:168:65::', 'fd00:1::5', 'fe80::5', '::ffff:192.168.65.3', 'fd00:192:168:65::77%eth0']) {
      expect(await bad({ proto: 'tcp', hostPort: 0, guestIp: g, guestPort: 80 }), g).toBe('INVALID');
    }
    expect(await bad({ proto: 'tcp', hostIp: '::1%lo', hostPort: 0, guestIp: 'fd00:192:168:65::77', guestPort: 80 })).toBe('INVALID');
    const f = await fw.expose({ proto: 'tcp', hostPort: 0, guestIp: 'fd00:0192:0168:0065:0:0:0:77', guestPort: 80 });
    expect(f.hostIp).toBe('::1'); // the default for an IPv6 guest
    expect(f.guestIp).toBe('fd00:192:168:65::77'); // canonical text
    expect(f.id).toBe(`tcp:[::1]:${f.hostPort}`);
    expect(await bad({ proto: 'tcp', hostIp: '0:0::1', hostPort: f.hostPort, guestIp: 'fd00:192:168:65::78', guestPort: 80 })).toBe('EXISTS');
    await fw.unexpose(f.id);
    // IPv4 forwards keep their default and ids.
    const f4 = await fw.expose({ proto: 'udp', hostPort: 0, guestIp: '192.168.65.3', guestPort: 53 });
    expect(f4.id).toBe(`udp:127.0.0.1:${f4.hostPort}`);
    const off = new Stack({ ipv6: false });
    expect(await off.forwards.expose({ proto: 'tcp', hostPort: 0, guestIp: 'fd00:192:168:65::77', guestPort: 80 }).catch((e: { code: string }) => e.code)).toBe('INVALID');
  });

  it('a TCP port forward on [::1] opens a connection to the guest from the gateway IPv6 address and relays both ways', async () => {
    const guest = start();
    guest.send(udp(GW6, 9, Uint8Array.of(0))); // the guest is known to ND (its own traffic)
    const f = await stack!.forwards.expose({ proto: 'tcp', hostIp: '::1', hostPort: 0, guestIp: Ipv6Address.format(G6), guestPort: 80 });
    const client = net.connect({ host: '::1', port: f.hostPort });
    closers.push(() => client.destroy());
    const got: Buffer[] = [];
    client.on('data', (d) => got.push(d));
    const synSeg = tcpOf(await waitFrames(guest, isTcp6));
    expect(synSeg.flags).toBe(TcpFlags.Syn);
    expect(synSeg.dstPort).toBe(80);
    expect(Ipv6Address.equals(synSeg.src, GW6)).toBe(true);
    expect(Ipv6Address.equals(synSeg.dst, G6)).toBe(true);
    const reply = (flags: number, seq: number, payload: Uint8Array): Uint8Array => {
      const r: TcpRepr = { srcPort: 80, dstPort: synSeg.srcPort, seqNumber: seq, ackNumber: (synSeg.seqNumber + 1) >>> 0, flags, windowLen: 65535, payload, maxSegSize: flags & TcpFlags.Syn ? 1440 : undefined };
      const b = new Uint8Array(14 + 40 + TcpRepr.bufferLen(r));
      EthernetRepr.emit({ src: G_MAC, dst: GW_MAC, etherType: EtherType.Ipv6 }, EthernetFrame.unchecked(b));
      Ipv6Repr.emit({ src: G6, dst: GW6, nextHeader: IpProtocol.Tcp, payloadLen: TcpRepr.bufferLen(r), hopLimit: 64 }, Ipv6Packet.unchecked(b.subarray(14)));
      TcpRepr.emit(r, TcpPacket.unchecked(b.subarray(54)), G6, GW6);
      return b;
    };
    guest.send(reply(TcpFlags.Syn | TcpFlags.Ack, 5000, new Uint8Array(0)));
    client.write('hello guest');
    const data = tcpOf(await waitFrames(guest, (x) => isTcp6(x) && tcpOf(x).payload.length > 0));
    expect(new TextDecoder().decode(data.payload)).toBe('hello guest');
    guest.send(reply(TcpFlags.Ack | TcpFlags.Psh, 5001, new TextEncoder().encode('hello host')));
    const end = Date.now() + 3000;
    while (Buffer.concat(got).toString() !== 'hello host' && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    expect(Buffer.concat(got).toString()).toBe('hello host');
    expect(stack!.stats().tcp.forwarded).toBe(1);
  });

  it('a UDP port forward on [::1] reaches the guest from a gateway port, and the guest\'s reply reaches the client', async () => {
    const guest = start();
    guest.send(udp(GW6, 9, Uint8Array.of(0)));
    const f = await stack!.forwards.expose({ proto: 'udp', hostIp: '::1', hostPort: 0, guestIp: Ipv6Address.format(G6), guestPort: 5353 });
    expect(f.id).toBe(`udp:[::1]:${f.hostPort}`);
    const client = dgram.createSocket('udp6');
    closers.push(() => client.close());
    const got: string[] = [];
    const answer = new Promise<string>((r) => client.on('message', (m) => r(got[got.push(m.toString()) - 1]!)));
    client.send('question', f.hostPort, '::1');
    const q = await waitFrames(guest, isUdp6);
    if (q.network.kind !== 'ipv6' || q.network.transport.kind !== 'udp') throw new Error('unreachable');
    const u = q.network.transport.udp;
    expect(new TextDecoder().decode(u.payload)).toBe('question');
    expect(u.dstPort).toBe(5353);
    expect(Ipv6Address.equals(q.network.ip.src, GW6)).toBe(true);
    // The guest answers from its port to the gateway port the question came from.
    guest.send(udp(GW6, u.srcPort, new TextEncoder().encode('answer'), 5353));
    expect(await answer).toBe('answer');
    // From another guest port: not the forward's guest endpoint, dropped.
    guest.send(udp(GW6, u.srcPort, new TextEncoder().encode('spoof'), 5354));
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toEqual(['answer']);
  });

  it('a UDP service on the gateway (DNS on 53) answers over IPv6 too', async () => {
    const guest = start({ udp: { localServices: new Map([[53, (p: Uint8Array, reply: (p: Uint8Array) => void) => reply(p.slice().reverse())]]) } });
    guest.send(udp(GW6, 53, Uint8Array.of(1, 2, 3)));
    const f = await waitFrames(guest, isUdp6);
    if (f.network.kind !== 'ipv6' || f.network.transport.kind !== 'udp') throw new Error('unreachable');
    expect([...f.network.transport.udp.payload]).toEqual([3, 2, 1]);
    expect(Ipv6Address.equals(f.network.ip.src, GW6)).toBe(true);
  });

  it('sends nothing to the host for IPv4-mapped, loopback or link-local destinations', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => server.close());
    let accepted = 0;
    server.on('connection', (s) => {
      accepted++;
      s.destroy();
    });
    const port = (server.address() as net.AddressInfo).port;
    const guest = start();
    for (const d of ['::ffff:127.0.0.1', '::1', 'fe80::1', '::127.0.0.1']) guest.send(syn(A(d), port));
    await new Promise((r) => setTimeout(r, 200));
    expect(accepted).toBe(0);
    expect(stack?.stats().tcp).toMatchObject({ connections: 0, pending: 0, opened: 0 });
  });

  it('reassembles a fragmented datagram from the guest and fragments a large answer (RFC 8200 §4.5)', async () => {
    const seen: number[] = [];
    const big = (p: Uint8Array, reply: (p: Uint8Array) => void): void => {
      seen.push(p.length);
      reply(Uint8Array.from({ length: 6000 }, (_, i) => (i * 3 + p[0]!) & 255));
    };
    const guest = start({ udp: { localServices: new Map([[53, big]]) } });
    const frames = udpFrames6(G6, GW6, 0x12345678, 40002, 53, Uint8Array.from({ length: 4000 }, (_, i) => i & 255).fill(9, 0, 1), 1500);
    expect(frames).toHaveLength(3);
    for (const f of frames.reverse()) {
      EthernetRepr.emit({ src: G_MAC, dst: GW_MAC, etherType: EtherType.Ipv6 }, EthernetFrame.unchecked(f));
      guest.send(f); // last fragment first: order does not matter
    }
    const q = guest.frames() as FrameQueue;
    const parts: FrameRepr[] = [];
    const end = Date.now() + 3000;
    while (parts.length < 5 && Date.now() < end) {
      const raw = q.shift();
      if (raw === undefined) await new Promise((r) => setTimeout(r, 10));
      else parts.push(parseFrame(raw));
    }
    expect(seen).toEqual([4000]);
    expect(parts).toHaveLength(5); // 6008 bytes of UDP in 1448-byte pieces
    let ident: number | undefined;
    const datagram = new Uint8Array(6008);
    let got = 0;
    for (const p of parts) {
      if (p.network.kind !== 'ipv6' || p.network.transport.kind !== 'fragment') throw new Error('not an IPv6 fragment');
      const { ip, ext, transport } = p.network;
      expect(ip.nextHeader).toBe(Ipv6ExtHeader.Fragment);
      expect(40 + ip.payloadLen).toBeLessThanOrEqual(1500);
      expect(ext.protocol).toBe(IpProtocol.Udp);
      ident ??= ext.fragment?.ident;
      expect(ext.fragment?.ident).toBe(ident);
      datagram.set(transport.payload, ext.fragment?.offset ?? 0);
      got += transport.payload.length;
    }
    expect(got).toBe(6008);
    const r = UdpRepr.parse(UdpPacket.checked(datagram), GW6, G6); // the checksum covers the whole datagram
    expect(r.payload.length).toBe(6000);
    expect(r.payload[5999]).toBe((5999 * 3 + 9) & 255);
    expect(stack?.stats().gateway.reassembly6.completed).toBe(1);
  });
});

describe('ICMPv6 echo through the host (IcmpNat.input6)', () => {
  it('relays a ping beyond the gateway with our sequence numbers and answers with the guest\'s ident and sequence', async () => {
    const sent: Array<{ dst: string; seq: number; data: Uint8Array }> = [];
    let onReply: ((seq: number, data: Uint8Array) => void) | undefined;
    const fake: HostIcmp6 = {
      sendEcho: (dst, seq, data) => (sent.push({ dst: Ipv6Address.format(dst), seq, data: data.slice() }), true),
      onReply: (fn) => (onReply = fn),
      close: () => undefined,
    };
    const stack = new Stack({ host: { ...nodeHost, icmpEcho6: () => fake } });
    stack.start();
    const [port, guest] = createLinkPair();
    void stack.addLink(port);
    const ping = (dst: Uint8Array, seqNo: number): Uint8Array => {
      const icmp: Icmpv6Repr = { kind: 'echoRequest', ident: 0xbeef, seqNo, data: Uint8Array.of(1, 2, 3, seqNo) };
      return frame6(dst, IpProtocol.Icmpv6, Icmpv6Repr.bufferLen(icmp), (b) => Icmpv6Repr.emit(icmp, Icmpv6Packet.unchecked(b), G6, dst));
    };
    guest.send(ping(A('2001:db8::53'), 7));
    guest.send(ping(A('fe80::1'), 8)); // link-local: not relayed
    guest.send(ping(A('::ffff:127.0.0.1'), 9)); // IPv4-mapped: not relayed
    await new Promise((r) => setTimeout(r, 20));
    expect(sent).toHaveLength(1);
    expect(sent[0]?.dst).toBe('2001:db8::53');
    onReply?.(sent[0]!.seq + 1, new Uint8Array(4)); // not ours: ignored
    onReply?.(sent[0]!.seq, sent[0]!.data);
    const f = await waitFrames(guest, (x) => x.network.kind === 'ipv6' && x.network.transport.kind === 'icmpv6');
    if (f.network.kind !== 'ipv6' || f.network.transport.kind !== 'icmpv6') throw new Error('unreachable');
    expect(Ipv6Address.format(f.network.ip.src)).toBe('2001:db8::53');
    expect(f.network.transport.icmp).toEqual({ kind: 'echoReply', ident: 0xbeef, seqNo: 7, data: Uint8Array.of(1, 2, 3, 7) });
    expect(stack.stats().icmp).toMatchObject({ requests: 1, replies: 1, dropped: 2 });
    await stack.close();
  });
});

describe('a host connect that never completes', () => {
  it('is given up at connectTimeoutMs (the NAT\'s own deadline): the socket destroyed, the guest reset, the flow freed', async () => {
    const sockets: net.Socket[] = [];
    // A socket that never connects: nothing is dialled, so only the deadline can end it.
    const host = { ...nodeHost, connectTcp: (): net.Socket => { const s = new net.Socket(); sockets.push(s); return s; } };
    const clock = new ManualClock(5_000);
    const stack = new Stack({ clock, host, tcp: { connectTimeoutMs: 30_000 } }); // far beyond this test's real time
    stack.start();
    const [port, guest] = createLinkPair();
    void stack.addLink(port);
    try {
      guest.send(syn(HOST6, 8080));
      for (let i = 0; i < 50 && sockets.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(sockets).toHaveLength(1);
      expect(stack.stats().tcp.pending).toBe(1);
      clock.advance(29_999);
      await new Promise((r) => setTimeout(r, 20));
      expect(sockets[0]?.destroyed).toBe(false);
      expect(stack.stats().tcp.pending).toBe(1);
      clock.advance(1);
      const rst = tcpOf(await waitFrames(guest, isTcp6));
      expect(rst.flags & TcpFlags.Rst).toBe(TcpFlags.Rst);
      expect(rst.ackNumber).toBe(1001);
      expect(sockets[0]?.destroyed).toBe(true);
      expect(stack.stats().tcp).toMatchObject({ pending: 0, connections: 0, refused: 1 });
    } finally {
      await stack.close();
    }
  });
});
