/**
 * DHCP (RFC 2131) messages with RFC 2132 options, over the BOOTP format
 * (RFC 951).
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +---------------+---------------+---------------+---------------+
 *    |     op (1)    |   htype (1)   |   hlen (1)    |   hops (1)    |
 *    +---------------+---------------+---------------+---------------+
 *    |                            xid (4)                            |
 *    +-------------------------------+-------------------------------+
 *    |           secs (2)            |           flags (2)           |
 *    +-------------------------------+-------------------------------+
 *    |                          ciaddr  (4)                          |
 *    +---------------------------------------------------------------+
 *    |                          yiaddr  (4)                          |
 *    +---------------------------------------------------------------+
 *    |                          siaddr  (4)                          |
 *    +---------------------------------------------------------------+
 *    |                          giaddr  (4)                          |
 *    +---------------------------------------------------------------+
 *    |                          chaddr  (16)                         |
 *    +---------------------------------------------------------------+
 *    |                          sname   (64)                         |
 *    +---------------------------------------------------------------+
 *    |                          file    (128)                        |
 *    +---------------------------------------------------------------+
 *    |                          options (variable)                   |
 *    +---------------------------------------------------------------+
 *                      (RFC 2131 §2, Figure 1)
 *
 *   "The first four octets of the 'options' field of the DHCP message
 *    contain the (decimal) values 99, 130, 83 and 99, respectively (this
 *    is the same magic cookie as is defined in RFC 1497)."  (RFC 2131 §3)
 *   Flags: "the leftmost bit is defined as the BROADCAST (B) flag".
 *   Options (RFC 2132 §2): Pad (0) and End (255) are one octet; every other
 *   option is code, length, data.  An option longer than 255 octets is
 *   split into several instances that the receiver concatenates (RFC 3396).
 *
 * Parsing tolerates a missing End option.  Option Overload (52) is ignored:
 * `sname` and `file` are never parsed as options.  Only Ethernet hardware
 * addresses (htype 1, hlen 6) are supported.  `emit` pads the message to
 * the 300-octet BOOTP minimum that some clients still require (RFC 1542 §2.1).
 */

import type { EthernetAddress, Ipv4Address } from './address.js';
import { getU16, getU32, getU8, setU16, setU32, setU8 } from './bytes.js';
import { assertMacLen, ensureCapacity, ensureUint } from './common.js';
import { WireError } from './error.js';

export const DhcpMessageType = {
  Discover: 1,
  Offer: 2,
  Request: 3,
  Decline: 4,
  Ack: 5,
  Nak: 6,
  Release: 7,
  Inform: 8,
} as const;

export const DhcpOpCode = {
  BootRequest: 1,
  BootReply: 2,
} as const;

export const DhcpOption = {
  Pad: 0,
  SubnetMask: 1,
  Router: 3,
  DomainNameServer: 6,
  HostName: 12,
  DomainName: 15,
  InterfaceMtu: 26,
  RequestedIp: 50,
  LeaseTime: 51,
  Overload: 52,
  MessageType: 53,
  ServerIdentifier: 54,
  ParameterRequestList: 55,
  Message: 56,
  MaxMessageSize: 57,
  RenewalTime: 58,
  RebindingTime: 59,
  ClientIdentifier: 61,
  End: 255,
} as const;

export const DHCP_MAGIC_COOKIE = 0x63825363;
export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
/** Fixed BOOTP part plus the magic cookie. */
export const DHCP_MIN_LEN = 240;
/** The BOOTP minimum message size `emit` pads to. */
export const BOOTP_MIN_LEN = 300;

const F = {
  OP: 0,
  HTYPE: 1,
  HLEN: 2,
  HOPS: 3,
  XID: 4,
  SECS: 8,
  FLAGS: 10,
  CIADDR: 12,
  YIADDR: 16,
  SIADDR: 20,
  GIADDR: 24,
  CHADDR: 28,
  SNAME: 44,
  FILE: 108,
  COOKIE: 236,
  OPTIONS: 240,
} as const;

const FLAG_BROADCAST = 0x8000;
const P = 'dhcp';

export class DhcpPacket {
  private constructor(readonly buffer: Uint8Array) {}

  /** Validates that the fixed part and magic cookie position exist. */
  static checked(buffer: Uint8Array): DhcpPacket {
    if (buffer.length < DHCP_MIN_LEN) throw new WireError('TRUNCATED', P, `message of ${buffer.length} bytes`);
    return new DhcpPacket(buffer);
  }

  static unchecked(buffer: Uint8Array): DhcpPacket {
    return new DhcpPacket(buffer);
  }

  get op(): number {
    return getU8(this.buffer, F.OP);
  }
  set op(v: number) {
    setU8(this.buffer, F.OP, v);
  }
  get hardwareType(): number {
    return getU8(this.buffer, F.HTYPE);
  }
  set hardwareType(v: number) {
    setU8(this.buffer, F.HTYPE, v);
  }
  get hardwareLen(): number {
    return getU8(this.buffer, F.HLEN);
  }
  set hardwareLen(v: number) {
    setU8(this.buffer, F.HLEN, v);
  }
  get hops(): number {
    return getU8(this.buffer, F.HOPS);
  }
  set hops(v: number) {
    setU8(this.buffer, F.HOPS, v);
  }
  get transactionId(): number {
    return getU32(this.buffer, F.XID);
  }
  set transactionId(v: number) {
    setU32(this.buffer, F.XID, v);
  }
  get secs(): number {
    return getU16(this.buffer, F.SECS);
  }
  set secs(v: number) {
    setU16(this.buffer, F.SECS, v);
  }
  get flags(): number {
    return getU16(this.buffer, F.FLAGS);
  }
  set flags(v: number) {
    setU16(this.buffer, F.FLAGS, v);
  }
  get broadcast(): boolean {
    return (this.flags & FLAG_BROADCAST) !== 0;
  }
  get clientIp(): Ipv4Address {
    return getU32(this.buffer, F.CIADDR);
  }
  set clientIp(v: Ipv4Address) {
    setU32(this.buffer, F.CIADDR, v);
  }
  get yourIp(): Ipv4Address {
    return getU32(this.buffer, F.YIADDR);
  }
  set yourIp(v: Ipv4Address) {
    setU32(this.buffer, F.YIADDR, v);
  }
  get serverIp(): Ipv4Address {
    return getU32(this.buffer, F.SIADDR);
  }
  set serverIp(v: Ipv4Address) {
    setU32(this.buffer, F.SIADDR, v);
  }
  get relayAgentIp(): Ipv4Address {
    return getU32(this.buffer, F.GIADDR);
  }
  set relayAgentIp(v: Ipv4Address) {
    setU32(this.buffer, F.GIADDR, v);
  }
  /** The whole 16-byte chaddr field (a view). */
  get chaddr(): Uint8Array {
    return this.buffer.subarray(F.CHADDR, F.SNAME);
  }
  /** The first 6 bytes of chaddr (a view). */
  get clientHardwareAddr(): EthernetAddress {
    return this.buffer.subarray(F.CHADDR, F.CHADDR + 6);
  }
  /** The 64-byte server host name field (a view). */
  get sname(): Uint8Array {
    return this.buffer.subarray(F.SNAME, F.FILE);
  }
  /** The 128-byte boot file name field (a view). */
  get file(): Uint8Array {
    return this.buffer.subarray(F.FILE, F.COOKIE);
  }
  get magicCookie(): number {
    return getU32(this.buffer, F.COOKIE);
  }
  set magicCookie(v: number) {
    setU32(this.buffer, F.COOKIE, v);
  }
  /** The options after the magic cookie (a view). */
  get options(): Uint8Array {
    return this.buffer.subarray(F.OPTIONS);
  }
}

export interface DhcpOptionEntry {
  code: number;
  /** The option data (a view). */
  data: Uint8Array;
}

/**
 * Iterate the options area (after the magic cookie).  Pad is skipped; End
 * stops the walk, as does the end of the area.  Throws `BAD_OPTION` when a
 * length octet is missing or an option runs past the area.  Bounded: each
 * step consumes at least one byte.
 */
export function* dhcpOptions(area: Uint8Array): Generator<DhcpOptionEntry, void, undefined> {
  let i = 0;
  while (i < area.length) {
    const code = getU8(area, i);
    if (code === DhcpOption.Pad) {
      i++;
      continue;
    }
    if (code === DhcpOption.End) return;
    if (i + 1 >= area.length) throw new WireError('BAD_OPTION', P, `option ${code} has no length`);
    const len = getU8(area, i + 1);
    if (i + 2 + len > area.length) throw new WireError('BAD_OPTION', P, `option ${code} of ${len} bytes runs past the message`);
    yield { code, data: area.subarray(i + 2, i + 2 + len) };
    i += 2 + len;
  }
}

export interface DhcpRepr {
  /** Option 53 (required: a message without it is BOOTP, `UNSUPPORTED`). */
  messageType: number;
  transactionId: number;
  clientHardwareAddr: EthernetAddress;
  /** ciaddr */
  clientIp: Ipv4Address;
  /** yiaddr */
  yourIp: Ipv4Address;
  /** siaddr: next server (TFTP), not the DHCP server id. */
  serverIp: Ipv4Address;
  /** giaddr */
  relayAgentIp: Ipv4Address;
  /** Default 0. */
  secs?: number;
  /** Default false. */
  broadcast?: boolean;
  /** Default 0. */
  hops?: number;
  /** 50 */
  requestedIp?: Ipv4Address;
  /** 54 */
  serverIdentifier?: Ipv4Address;
  /** 51, seconds (0xffffffff = infinite). */
  leaseTime?: number;
  /** 58, seconds (T1). */
  renewalTime?: number;
  /** 59, seconds (T2). */
  rebindingTime?: number;
  /** 1 */
  subnetMask?: Ipv4Address;
  /** 3 */
  routers?: Ipv4Address[];
  /** 6 */
  dnsServers?: Ipv4Address[];
  /** 15 */
  domainName?: string;
  /** 12 */
  hostname?: string;
  /** 26 (raw; RFC 2132 says at least 68). */
  interfaceMtu?: number;
  /** 61 (type octet + identifier), a copy. */
  clientIdentifier?: Uint8Array;
  /** 55: requested option codes, a copy. */
  parameterRequestList?: Uint8Array;
  /** 57 */
  maxMessageSize?: number;
  /** 56: error text (e.g. in a NAK). */
  message?: string;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: false });
const utf8Encoder = new TextEncoder();

function decodeString(b: Uint8Array): string {
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--; // some clients NUL-terminate
  return utf8Decoder.decode(b.subarray(0, end));
}

function optLen(code: number, data: Uint8Array, ok: boolean): void {
  if (!ok) throw new WireError('BAD_OPTION', P, `option ${code} has length ${data.length}`);
}

function addrList(code: number, data: Uint8Array): Ipv4Address[] {
  optLen(code, data, data.length >= 4 && data.length % 4 === 0);
  const out: Ipv4Address[] = [];
  for (let i = 0; i < data.length; i += 4) out.push(getU32(data, i));
  return out;
}

function isServerMessage(t: number): boolean {
  return t === DhcpMessageType.Offer || t === DhcpMessageType.Ack || t === DhcpMessageType.Nak;
}

/** Options in the order `emit` writes them, each as (code, bytes). */
function encodeOptions(repr: DhcpRepr): [number, Uint8Array][] {
  const out: [number, Uint8Array][] = [];
  const u32 = (v: number, field: string): Uint8Array => {
    ensureUint(v, 0xffffffff, P, field);
    const b = new Uint8Array(4);
    setU32(b, 0, v);
    return b;
  };
  const u16 = (v: number, field: string): Uint8Array => {
    ensureUint(v, 0xffff, P, field);
    const b = new Uint8Array(2);
    setU16(b, 0, v);
    return b;
  };
  const list = (vs: readonly number[], field: string): Uint8Array => {
    if (vs.length === 0) throw new WireError('INVALID_REPR', P, `${field} is empty`);
    const b = new Uint8Array(4 * vs.length);
    vs.forEach((v, i) => {
      ensureUint(v, 0xffffffff, P, field);
      setU32(b, 4 * i, v);
    });
    return b;
  };
  const str = (s: string, field: string): Uint8Array => {
    const b = utf8Encoder.encode(s);
    if (b.length === 0) throw new WireError('INVALID_REPR', P, `${field} is empty`);
    return b;
  };
  const bytes = (b: Uint8Array, min: number, field: string): Uint8Array => {
    if (b.length < min) throw new WireError('INVALID_REPR', P, `${field} shorter than ${min}`);
    return b;
  };
  ensureUint(repr.messageType, 0xff, P, 'messageType');
  out.push([DhcpOption.MessageType, Uint8Array.of(repr.messageType)]);
  if (repr.serverIdentifier !== undefined) out.push([DhcpOption.ServerIdentifier, u32(repr.serverIdentifier, 'serverIdentifier')]);
  if (repr.leaseTime !== undefined) out.push([DhcpOption.LeaseTime, u32(repr.leaseTime, 'leaseTime')]);
  if (repr.renewalTime !== undefined) out.push([DhcpOption.RenewalTime, u32(repr.renewalTime, 'renewalTime')]);
  if (repr.rebindingTime !== undefined) out.push([DhcpOption.RebindingTime, u32(repr.rebindingTime, 'rebindingTime')]);
  if (repr.subnetMask !== undefined) out.push([DhcpOption.SubnetMask, u32(repr.subnetMask, 'subnetMask')]);
  if (repr.routers !== undefined) out.push([DhcpOption.Router, list(repr.routers, 'routers')]);
  if (repr.dnsServers !== undefined) out.push([DhcpOption.DomainNameServer, list(repr.dnsServers, 'dnsServers')]);
  if (repr.domainName !== undefined) out.push([DhcpOption.DomainName, str(repr.domainName, 'domainName')]);
  if (repr.interfaceMtu !== undefined) out.push([DhcpOption.InterfaceMtu, u16(repr.interfaceMtu, 'interfaceMtu')]);
  if (repr.hostname !== undefined) out.push([DhcpOption.HostName, str(repr.hostname, 'hostname')]);
  if (repr.requestedIp !== undefined) out.push([DhcpOption.RequestedIp, u32(repr.requestedIp, 'requestedIp')]);
  if (repr.clientIdentifier !== undefined) {
    out.push([DhcpOption.ClientIdentifier, bytes(repr.clientIdentifier, 2, 'clientIdentifier')]);
  }
  if (repr.parameterRequestList !== undefined) {
    out.push([DhcpOption.ParameterRequestList, bytes(repr.parameterRequestList, 1, 'parameterRequestList')]);
  }
  if (repr.maxMessageSize !== undefined) out.push([DhcpOption.MaxMessageSize, u16(repr.maxMessageSize, 'maxMessageSize')]);
  if (repr.message !== undefined) out.push([DhcpOption.Message, str(repr.message, 'message')]);
  return out;
}

/** Encoded size of one option, split into 255-byte instances (RFC 3396). */
function encodedLen(data: Uint8Array): number {
  const instances = Math.max(1, Math.ceil(data.length / 255));
  return data.length + 2 * instances;
}

export const DhcpRepr = {
  /**
   * Read a DHCP message.  Throws `BAD_MAGIC`, `UNSUPPORTED` (not Ethernet,
   * or no message type), `MALFORMED` (bad op) and `BAD_OPTION` (overrun or
   * a known option with an invalid length).  Repeated instances of an
   * option are concatenated (RFC 3396).
   */
  parse(packet: DhcpPacket): DhcpRepr {
    if (packet.magicCookie !== DHCP_MAGIC_COOKIE) {
      throw new WireError('BAD_MAGIC', P, `cookie 0x${packet.magicCookie.toString(16)}`);
    }
    const op = packet.op;
    if (op !== DhcpOpCode.BootRequest && op !== DhcpOpCode.BootReply) throw new WireError('MALFORMED', P, `op ${op}`);
    if (packet.hardwareType !== 1 || packet.hardwareLen !== 6) {
      throw new WireError('UNSUPPORTED', P, `htype ${packet.hardwareType} hlen ${packet.hardwareLen}`);
    }

    // Gather instances per code first, so split options can be concatenated.
    const found = new Map<number, Uint8Array>();
    for (const { code, data } of dhcpOptions(packet.options)) {
      const prev = found.get(code);
      if (prev === undefined) {
        found.set(code, data);
      } else {
        const joined = new Uint8Array(prev.length + data.length);
        joined.set(prev);
        joined.set(data, prev.length);
        found.set(code, joined);
      }
    }

    const mt = found.get(DhcpOption.MessageType);
    if (mt === undefined) throw new WireError('UNSUPPORTED', P, 'no DHCP message type (plain BOOTP)');
    optLen(DhcpOption.MessageType, mt, mt.length === 1);

    const repr: DhcpRepr = {
      messageType: getU8(mt, 0),
      transactionId: packet.transactionId,
      clientHardwareAddr: packet.clientHardwareAddr.slice(),
      clientIp: packet.clientIp,
      yourIp: packet.yourIp,
      serverIp: packet.serverIp,
      relayAgentIp: packet.relayAgentIp,
      secs: packet.secs,
      broadcast: packet.broadcast,
      hops: packet.hops,
    };
    for (const [code, data] of found) {
      switch (code) {
        case DhcpOption.SubnetMask:
          optLen(code, data, data.length === 4);
          repr.subnetMask = getU32(data, 0);
          break;
        case DhcpOption.Router:
          repr.routers = addrList(code, data);
          break;
        case DhcpOption.DomainNameServer:
          repr.dnsServers = addrList(code, data);
          break;
        case DhcpOption.HostName:
          optLen(code, data, data.length >= 1);
          repr.hostname = decodeString(data);
          break;
        case DhcpOption.DomainName:
          optLen(code, data, data.length >= 1);
          repr.domainName = decodeString(data);
          break;
        case DhcpOption.InterfaceMtu:
          optLen(code, data, data.length === 2);
          repr.interfaceMtu = getU16(data, 0);
          break;
        case DhcpOption.RequestedIp:
          optLen(code, data, data.length === 4);
          repr.requestedIp = getU32(data, 0);
          break;
        case DhcpOption.LeaseTime:
          optLen(code, data, data.length === 4);
          repr.leaseTime = getU32(data, 0);
          break;
        case DhcpOption.ServerIdentifier:
          optLen(code, data, data.length === 4);
          repr.serverIdentifier = getU32(data, 0);
          break;
        case DhcpOption.ParameterRequestList:
          optLen(code, data, data.length >= 1);
          repr.parameterRequestList = data.slice();
          break;
        case DhcpOption.Message:
          optLen(code, data, data.length >= 1);
          repr.message = decodeString(data);
          break;
        case DhcpOption.MaxMessageSize:
          optLen(code, data, data.length === 2);
          repr.maxMessageSize = getU16(data, 0);
          break;
        case DhcpOption.RenewalTime:
          optLen(code, data, data.length === 4);
          repr.renewalTime = getU32(data, 0);
          break;
        case DhcpOption.RebindingTime:
          optLen(code, data, data.length === 4);
          repr.rebindingTime = getU32(data, 0);
          break;
        case DhcpOption.ClientIdentifier:
          optLen(code, data, data.length >= 2);
          repr.clientIdentifier = data.slice();
          break;
        default:
          break; // unknown options and Overload (52) are ignored
      }
    }
    return repr;
  },

  /** Bytes `emit` writes: fixed part, cookie, options, End, padded to 300. */
  bufferLen(repr: DhcpRepr): number {
    let n = DHCP_MIN_LEN + 1;
    for (const [, data] of encodeOptions(repr)) n += encodedLen(data);
    return Math.max(n, BOOTP_MIN_LEN);
  },

  /**
   * Write the whole message.  `op` is BOOTREPLY for OFFER/ACK/NAK and
   * BOOTREQUEST otherwise; sname/file are zero.  Options are written in a
   * fixed order starting with Message Type (53), then Server Identifier (54).
   */
  emit(repr: DhcpRepr, packet: DhcpPacket): DhcpPacket {
    const opts = encodeOptions(repr);
    let len = DHCP_MIN_LEN + 1;
    for (const [, data] of opts) len += encodedLen(data);
    len = Math.max(len, BOOTP_MIN_LEN);
    ensureCapacity(packet.buffer, len, P);
    assertMacLen(repr.clientHardwareAddr, P);
    ensureUint(repr.transactionId, 0xffffffff, P, 'transactionId');
    ensureUint(repr.secs ?? 0, 0xffff, P, 'secs');
    ensureUint(repr.hops ?? 0, 0xff, P, 'hops');
    for (const [field, v] of [
      ['clientIp', repr.clientIp],
      ['yourIp', repr.yourIp],
      ['serverIp', repr.serverIp],
      ['relayAgentIp', repr.relayAgentIp],
    ] as const) {
      ensureUint(v, 0xffffffff, P, field);
    }

    const b = packet.buffer;
    b.fill(0, 0, len);
    packet.op = isServerMessage(repr.messageType) ? DhcpOpCode.BootReply : DhcpOpCode.BootRequest;
    packet.hardwareType = 1;
    packet.hardwareLen = 6;
    packet.hops = repr.hops ?? 0;
    packet.transactionId = repr.transactionId;
    packet.secs = repr.secs ?? 0;
    packet.flags = repr.broadcast ? FLAG_BROADCAST : 0;
    packet.clientIp = repr.clientIp;
    packet.yourIp = repr.yourIp;
    packet.serverIp = repr.serverIp;
    packet.relayAgentIp = repr.relayAgentIp;
    b.set(repr.clientHardwareAddr, F.CHADDR);
    packet.magicCookie = DHCP_MAGIC_COOKIE;
    let i: number = F.OPTIONS;
    for (const [code, data] of opts) {
      let off = 0;
      do {
        const chunk = data.subarray(off, off + 255);
        b[i] = code;
        b[i + 1] = chunk.length;
        b.set(chunk, i + 2);
        i += 2 + chunk.length;
        off += 255;
      } while (off < data.length);
    }
    b[i] = DhcpOption.End;
    return packet;
  },
};
