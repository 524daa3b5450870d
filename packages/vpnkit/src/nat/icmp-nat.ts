/**
 * ICMP echo through the host: a guest's ping to an address beyond the
 * gateway becomes an echo request from the host (host/icmp-socket.ts), and
 * the host's echo reply goes back to the guest with the guest's identifier
 * and sequence number (RFC 792), from the address the guest pinged.
 *
 * Each outstanding request holds one slot, keyed by the 16-bit sequence
 * number we send; slots are bounded (`maxPending`) and expire after
 * `timeoutMs`, so a guest flooding pings costs a fixed amount of memory.
 */

import type { Clock, StackConfig } from '../stack/config.js';
import { Icmpv4Packet, Icmpv4Repr, IpProtocol, Ipv4Packet, Ipv4Repr, type Ipv4Address } from '../wire/index.js';
import { natRoutable } from './packet.js';
import type { GuestPort } from './tcp-nat.js';

/** The host side: see host/icmp-socket.ts. */
export interface HostIcmp {
  sendEcho(dst: number, seq: number, data: Uint8Array): boolean;
  onReply(fn: (src: number, seq: number, data: Uint8Array) => void): void;
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
  guestIp: Ipv4Address;
  /** The address the guest pinged (the reply comes from it). */
  dst: Ipv4Address;
  ident: number;
  seqNo: number;
  at: number;
}

export class IcmpNat {
  private readonly pending = new Map<number, Pending>();
  private host: HostIcmp | undefined;
  private opened = false;
  private nextSeq = 1;
  private readonly counters = { requests: 0, replies: 0, dropped: 0, expired: 0 };

  constructor(
    private readonly config: StackConfig,
    private readonly clock: Clock,
    private readonly guest: GuestPort,
    /** Opens the host socket; called on the first echo request that needs it. */
    private readonly openHost: () => HostIcmp | undefined,
    private readonly opts: { maxPending: number; timeoutMs: number } = { maxPending: 1024, timeoutMs: 10_000 },
  ) {}

  private hostSocket(): HostIcmp | undefined {
    if (!this.opened) {
      this.opened = true;
      this.host = this.openHost();
      this.host?.onReply((_src, seq, data) => this.reply(seq, data));
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
    if (host === undefined || this.pending.size >= this.opts.maxPending) {
      this.counters.dropped++;
      return;
    }
    let seq = this.nextSeq;
    for (let i = 0; i < 0x10000 && this.pending.has(seq); i++) seq = (seq + 1) & 0xffff;
    this.nextSeq = (seq + 1) & 0xffff;
    const target = dst === this.config.hostIp ? 0x7f000001 : dst;
    this.pending.set(seq, { guestIp: ip.src >>> 0, dst, ident: icmp.ident, seqNo: icmp.seqNo, at: now });
    this.counters.requests++;
    if (!host.sendEcho(target, seq, icmp.data)) {
      this.pending.delete(seq);
      this.counters.dropped++;
    }
  }

  private reply(seq: number, data: Uint8Array): void {
    const p = this.pending.get(seq);
    if (p === undefined) return;
    this.pending.delete(seq);
    this.counters.replies++;
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
  }
}
