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
