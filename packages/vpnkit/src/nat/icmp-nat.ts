/**
 * ICMP echo through the host: a guest's ping to an address beyond the
 * gateway becomes an echo request from the host (host/icmp-socket.ts), and
 * the host's echo reply goes back to the guest with the guest's identifier
 * and sequence number (RFC 792), from the address the guest pinged.
 *
 * The same for ICMPv6 echo (RFC 4443 §4) through a host ICMPv6 socket.
 *
 * Each outstanding request holds one slot, keyed by the 16-bit sequence
 * number we send (one space for both families); slots are bounded (`maxPending`) and expire after
 * `timeoutMs`, so a guest flooding pings costs a fixed amount of memory.
 */

import type { Clock, StackConfig } from '../stack/config.js';
import {
  Icmpv4Packet,
  Icmpv4Repr,
  Icmpv6Packet,
  Icmpv6Repr,
  IpProtocol,
  Ipv4Packet,
  Ipv4Repr,
  Ipv6Address,
  Ipv6Packet,
  Ipv6Repr,
  type IpAddress,
} from '../wire/index.js';
import { natRoutable, natRoutable6 } from './packet.js';
import type { GuestPort } from './tcp-nat.js';

/** The host side: see host/icmp-socket.ts. */
export interface HostIcmp {
  sendEcho(dst: number, seq: number, data: Uint8Array): boolean;
  onReply(fn: (src: number, seq: number, data: Uint8Array) => void): void;
  close(): void;
}

/** The host side over IPv6: see host/icmp-socket.ts. */
export interface HostIcmp6 {
  sendEcho(dst: Uint8Array, seq: number, data: Uint8Array): boolean;
  onReply(fn: (seq: number, data: Uint8Array) => void): void;
  close(): void;
}

export interface IcmpNatStats {
  requests: number;
  replies: number;
  /** Requests dropped: no host socket, table full, send failure, unroutable. */
  dropped: number;
  expired: number;
}

interface Pending {
  guestIp: IpAddress;
  /** The address the guest pinged (the reply comes from it). */
  dst: IpAddress;
  ident: number;
  seqNo: number;
  at: number;
}

export class IcmpNat {
  private readonly pending = new Map<number, Pending>();
  private host: HostIcmp | undefined;
  private opened = false;
  private host6: HostIcmp6 | undefined;
  private opened6 = false;
  private nextSeq = 1;
  private readonly counters = { requests: 0, replies: 0, dropped: 0, expired: 0 };

  constructor(
    private readonly config: StackConfig,
    private readonly clock: Clock,
    private readonly guest: GuestPort,
    /** Opens the host socket; called on the first echo request that needs it. */
    private readonly openHost: () => HostIcmp | undefined,
    private readonly opts: { maxPending: number; timeoutMs: number } = { maxPending: 1024, timeoutMs: 10_000 },
    /** Opens the host ICMPv6 socket, on the first IPv6 echo request that needs it. */
    private readonly openHost6: () => HostIcmp6 | undefined = () => undefined,
  ) {}

  private hostSocket6(): HostIcmp6 | undefined {
    if (!this.opened6) {
      this.opened6 = true;
      this.host6 = this.openHost6();
      this.host6?.onReply((seq, data) => this.reply(seq, data, true));
    }
    return this.host6;
  }

  /** Take a slot for a request; the sequence number to send, or undefined when the table is full. */
  private slot(p: Pending): number | undefined {
    if (this.pending.size >= this.opts.maxPending) return undefined;
    let seq = this.nextSeq;
    for (let i = 0; i < 0x10000 && this.pending.has(seq); i++) seq = (seq + 1) & 0xffff;
    this.nextSeq = (seq + 1) & 0xffff;
    this.pending.set(seq, p);
    this.counters.requests++;
    return seq;
  }

  /** An ICMPv6 message from a guest to an address the gateway does not own. */
  input6(ip: Ipv6Repr, icmp: Icmpv6Repr): void {
    if (icmp.kind !== 'echoRequest') return;
    const now = this.clock.now();
    this.expire(now);
    const host = this.config.ipv6 && natRoutable6(this.config, ip.dst) ? this.hostSocket6() : undefined;
    const seq = host === undefined ? undefined : this.slot({ guestIp: ip.src, dst: ip.dst, ident: icmp.ident, seqNo: icmp.seqNo, at: now });
    if (host === undefined || seq === undefined) {
      this.counters.dropped++;
      return;
    }
    const target = Ipv6Address.equals(ip.dst, this.config.hostIpv6) ? Ipv6Address.LOOPBACK : ip.dst;
    if (!host.sendEcho(target, seq, icmp.data)) {
      this.pending.delete(seq);
      this.counters.dropped++;
    }
  }

  private hostSocket(): HostIcmp | undefined {
    if (!this.opened) {
      this.opened = true;
      this.host = this.openHost();
      this.host?.onReply((_src, seq, data) => this.reply(seq, data, false));
    }
    return this.host;
  }

  /** An ICMP message from a guest to an address the gateway does not own. */
  input(ip: Ipv4Repr, icmp: Icmpv4Repr): void {
    if (icmp.kind !== 'echoRequest') return;
    const dst = ip.dst >>> 0;
    const now = this.clock.now();
    this.expire(now);
    const host = natRoutable(this.config, dst) ? this.hostSocket() : undefined;
    const seq = host === undefined ? undefined : this.slot({ guestIp: ip.src >>> 0, dst, ident: icmp.ident, seqNo: icmp.seqNo, at: now });
    if (host === undefined || seq === undefined) {
      this.counters.dropped++;
      return;
    }
    const target = dst === this.config.hostIp ? 0x7f000001 : dst;
    if (!host.sendEcho(target, seq, icmp.data)) {
      this.pending.delete(seq);
      this.counters.dropped++;
    }
  }

  private reply(seq: number, data: Uint8Array, v6: boolean): void {
    const p = this.pending.get(seq);
    // A reply on one family's socket never answers the other family's request.
    if (p === undefined || (typeof p.guestIp !== 'number') !== v6) return;
    this.pending.delete(seq);
    this.counters.replies++;
    if (typeof p.guestIp !== 'number' && typeof p.dst !== 'number') {
      const icmp6: Icmpv6Repr = { kind: 'echoReply', ident: p.ident, seqNo: p.seqNo, data };
      const len6 = Icmpv6Repr.bufferLen(icmp6);
      if (40 + len6 > this.config.mtu) return; // not fragmented: the guest's request was not either
      const f6 = new Uint8Array(14 + 40 + len6);
      Ipv6Repr.emit({ src: p.dst, dst: p.guestIp, nextHeader: IpProtocol.Icmpv6, payloadLen: len6, hopLimit: 64 }, Ipv6Packet.unchecked(f6.subarray(14)));
      Icmpv6Repr.emit(icmp6, Icmpv6Packet.unchecked(f6.subarray(54)), p.dst, p.guestIp);
      this.guest.sendIpv6Frame(p.guestIp, f6);
      return;
    }
    if (typeof p.guestIp !== 'number' || typeof p.dst !== 'number') return;
    const icmp: Icmpv4Repr = { kind: 'echoReply', ident: p.ident, seqNo: p.seqNo, data };
    const len = Icmpv4Repr.bufferLen(icmp);
    const frame = new Uint8Array(14 + 20 + len);
    Ipv4Repr.emit(
      { src: p.dst, dst: p.guestIp, protocol: IpProtocol.Icmp, payloadLen: len, ttl: 64, ident: this.guest.nextIdent() },
      Ipv4Packet.unchecked(frame.subarray(14)),
    );
    Icmpv4Repr.emit(icmp, Icmpv4Packet.unchecked(frame.subarray(34)));
    this.guest.sendIpv4Frame(p.guestIp, frame);
  }

  private expire(now: number): void {
    for (const [seq, p] of this.pending) {
      if (now - p.at < this.opts.timeoutMs) break; // insertion order is time order
      this.pending.delete(seq);
      this.counters.expired++;
    }
  }

  stats(): IcmpNatStats {
    return { ...this.counters };
  }

  close(): void {
    this.pending.clear();
    this.host?.close();
    this.host6?.close();
  }
}
