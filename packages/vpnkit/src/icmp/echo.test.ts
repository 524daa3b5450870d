import { describe, expect, it } from 'vitest';
import {
  EtherType,
  EthernetAddress,
  EthernetFrame,
  EthernetRepr,
  Icmpv4Packet,
  Icmpv4Repr,
  IpProtocol,
  Ipv4Address,
  Ipv4Packet,
  Ipv4Repr,
  hexToBytes,
  parseFrame,
  type Ipv4Repr as Ipv4ReprT,
} from '../wire/index.js';
import { IcmpEcho } from './echo.js';

const ip = Ipv4Address.parse;
const GW = ip('192.168.65.1');
const GUEST = ip('192.168.65.3');

function request(dst: number, src = GUEST): { ip: Ipv4ReprT; icmp: Icmpv4Repr } {
  const data = hexToBytes('00 01 02 03 04 05 06 07 08 09');
  return {
    ip: { src, dst, protocol: IpProtocol.Icmp, payloadLen: 18, ttl: 64 },
    icmp: { kind: 'echoRequest', ident: 0x4242, seqNo: 7, data },
  };
}

describe('IcmpEcho', () => {
  it('answers with addresses swapped, same ident/seq and all the data', () => {
    const e = new IcmpEcho({ addresses: [GW, ip('192.168.65.2')] });
    const req = request(GW);
    const r = e.process(req.ip, req.icmp);
    expect(r?.ip).toMatchObject({ src: GW, dst: GUEST, protocol: IpProtocol.Icmp, payloadLen: 18, ttl: 64 });
    expect(r?.icmp).toEqual({ kind: 'echoReply', ident: 0x4242, seqNo: 7, data: req.icmp.kind === 'echoRequest' ? req.icmp.data : undefined });
    expect(e.process(request(ip('192.168.65.2')).ip, req.icmp)?.ip.src).toBe(ip('192.168.65.2'));
  });

  it('emits a reply that parses with valid checksums', () => {
    const e = new IcmpEcho({ addresses: [GW] });
    const req = request(GW);
    const r = e.process(req.ip, req.icmp);
    if (r === undefined) throw new Error('no reply');
    const eth: EthernetRepr = { src: EthernetAddress.parse('f6:16:36:bc:f9:c6'), dst: EthernetAddress.parse('02:00:00:00:00:01'), etherType: EtherType.Ipv4 };
    const buf = new Uint8Array(14 + Ipv4Repr.bufferLen(r.ip));
    EthernetRepr.emit(eth, EthernetFrame.unchecked(buf));
    const ipv4 = Ipv4Packet.unchecked(buf.subarray(14));
    Ipv4Repr.emit(r.ip, ipv4);
    Icmpv4Repr.emit(r.icmp, Icmpv4Packet.unchecked(ipv4.payload));
    const f = parseFrame(buf);
    expect(f.network.kind === 'ipv4' && f.network.transport.kind === 'icmpv4' && f.network.transport.icmp.kind).toBe('echoReply');
  });

  it('ignores requests to other, broadcast or multicast addresses, and from bad sources', () => {
    const e = new IcmpEcho({ addresses: [GW] });
    const req = request(GW);
    expect(e.process(request(ip('192.168.65.9')).ip, req.icmp)).toBeUndefined();
    expect(e.process(request(Ipv4Address.BROADCAST).ip, req.icmp)).toBeUndefined();
    expect(e.process(request(ip('224.0.0.1')).ip, req.icmp)).toBeUndefined();
    expect(e.process(request(GW, 0).ip, req.icmp)).toBeUndefined();
    expect(e.process(request(GW, ip('127.0.0.1')).ip, req.icmp)).toBeUndefined();
    expect(e.process(req.ip, { kind: 'echoReply', ident: 1, seqNo: 1, data: new Uint8Array() })).toBeUndefined();
    expect(e.stats()).toMatchObject({ replies: 0, ignored: 6 });
  });
});

describe('IcmpEcho.answerFrame (a ping of the gateway answered from the frame bytes)', () => {
  const GW_MAC = EthernetAddress.parse('02:50:00:00:00:01');
  const GUEST_MAC = EthernetAddress.parse('f6:16:36:bc:f9:c6');

  /** A request frame built with the general emitters; `patch` edits the bytes afterwards. */
  function requestFrame(o: { dst?: number; src?: number; dataLen?: number; dscpEcn?: number; pad?: number } = {}): Uint8Array {
    const data = Uint8Array.from({ length: o.dataLen ?? 56 }, (_, i) => (i * 7 + 3) & 0xff);
    const ipRepr: Ipv4ReprT = { src: o.src ?? GUEST, dst: o.dst ?? GW, protocol: IpProtocol.Icmp, payloadLen: 8 + data.length, ttl: 64, dontFrag: true, ident: 0x1234 };
    const buf = new Uint8Array(14 + 20 + 8 + data.length + (o.pad ?? 0));
    EthernetRepr.emit({ src: GUEST_MAC, dst: GW_MAC, etherType: EtherType.Ipv4 }, EthernetFrame.unchecked(buf));
    const ipv4 = Ipv4Packet.unchecked(buf.subarray(14));
    Ipv4Repr.emit({ ...ipRepr, dscp: (o.dscpEcn ?? 0) >> 2, ecn: (o.dscpEcn ?? 0) & 3 }, ipv4);
    Icmpv4Repr.emit({ kind: 'echoRequest', ident: 0xbeef, seqNo: 42, data }, Icmpv4Packet.unchecked(buf.subarray(34, 34 + 8 + data.length)));
    return buf;
  }

  /** What the general path sends for the same request: process() and the gateway's emitters. */
  function generalReply(e: IcmpEcho, frame: Uint8Array, ident: number): Uint8Array {
    const f = parseFrame(frame);
    if (f.network.kind !== 'ipv4' || f.network.transport.kind !== 'icmpv4') throw new Error('not ICMP');
    const r = e.process(f.network.ip, f.network.transport.icmp);
    if (r === undefined) throw new Error('no reply');
    const buf = new Uint8Array(14 + Ipv4Repr.bufferLen(r.ip));
    EthernetRepr.emit({ src: GW_MAC, dst: f.ethernet.src, etherType: EtherType.Ipv4 }, EthernetFrame.unchecked(buf));
    Ipv4Repr.emit({ ...r.ip, ident }, Ipv4Packet.unchecked(buf.subarray(14)));
    Icmpv4Repr.emit(r.icmp, Icmpv4Packet.unchecked(buf.subarray(34)));
    return buf;
  }

  const resum = (b: Uint8Array, start: number, end: number, at: number): void => {
    b[at] = 0;
    b[at + 1] = 0;
    let s = 0;
    for (let i = start; i < end; i += 2) s += ((b[i] as number) << 8) | (i + 1 < end ? (b[i + 1] as number) : 0);
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    const c = ~s & 0xffff;
    b[at] = c >>> 8;
    b[at + 1] = c & 0xff;
  };

  it('gives byte for byte the reply of the general path (sizes, DSCP/ECN, Ethernet padding)', () => {
    for (const o of [{}, { dataLen: 0 }, { dataLen: 1 }, { dataLen: 1471 }, { dataLen: 3, pad: 9 }, { dscpEcn: 0xb9 }, { dst: ip('192.168.65.2') }]) {
      const e = new IcmpEcho({ addresses: [GW, ip('192.168.65.2')] });
      const frame = requestFrame(o);
      const before = Uint8Array.from(frame);
      const fast = e.answerFrame(frame, GW_MAC, () => 77, false);
      expect(fast).toBeDefined();
      expect(bytesToHexStr(fast as Uint8Array)).toBe(bytesToHexStr(generalReply(new IcmpEcho({ addresses: [GW, ip('192.168.65.2')] }), frame, 77)));
      expect(frame).toEqual(before); // the request's bytes are left alone
      const parsed = parseFrame(fast as Uint8Array); // checksums verify
      expect(parsed.network.kind === 'ipv4' && parsed.network.transport.kind === 'icmpv4' && parsed.network.transport.icmp.kind).toBe('echoReply');
      expect(e.stats()).toMatchObject({ requests: 1, replies: 1, ignored: 0 });
    }
  });

  it('declines everything else, counting nothing, so the general path decides', () => {
    const e = new IcmpEcho({ addresses: [GW] });
    const cases: [string, Uint8Array][] = [];
    const edit = (name: string, f: (b: Uint8Array) => void, fixIp = true, fixIcmp = true): void => {
      const b = requestFrame();
      f(b);
      if (fixIcmp) resum(b, 34, b.length, 36);
      if (fixIp) resum(b, 14, 34, 24);
      cases.push([name, b]);
    };
    edit('other destination', (b) => b.set([192, 168, 65, 9], 30));
    edit('broadcast destination', (b) => b.set([255, 255, 255, 255], 30));
    edit('multicast source', (b) => b.set([224, 0, 0, 1], 26));
    edit('loopback source', (b) => b.set([127, 0, 0, 1], 26));
    edit('zero source', (b) => b.set([0, 0, 0, 0], 26));
    edit('echo reply', (b) => void (b[34] = 0));
    edit('code 1', (b) => void (b[35] = 1));
    edit('more fragments', (b) => void (b[20] = 0x20));
    edit('fragment offset', (b) => void (b[21] = 1));
    edit('bad IPv4 checksum', (b) => void (b[24] = (b[24] as number) ^ 1), false);
    edit('bad ICMP checksum', (b) => void (b[36] = (b[36] as number) ^ 1), true, false);
    edit('total length past the frame', (b) => void (b[17] = (b[17] as number) + 1));
    edit('total length under 28', (b) => b.set([0, 27], 16));
    edit('not IPv4 (ARP EtherType)', (b) => b.set([0x08, 0x06], 12));
    edit('IPv4 header with options (IHL 6)', (b) => void (b[14] = 0x46));
    cases.push(['runt', requestFrame().subarray(0, 41)]);
    for (const [name, b] of cases) expect(e.answerFrame(b, GW_MAC, () => 1, false), name).toBeUndefined();
    expect(e.stats()).toMatchObject({ requests: 0, replies: 0, ignored: 0 });
    // A link that vouched for the checksum: the ICMP checksum is not read again.
    const vouched = requestFrame();
    vouched[36] = (vouched[36] as number) ^ 1;
    expect(e.answerFrame(vouched, GW_MAC, () => 1, true)).toBeDefined();
  });
});

function bytesToHexStr(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
