/**
 * A learning Ethernet switch (IEEE 802.1D-2004 §7.7 "The Forwarding
 * Process", §7.8 "The Learning Process") with one extra, local port: the
 * gateway's own stack.
 *
 *   "Frames shall be forwarded [...] on the basis of the destination MAC
 *    address: if the Filtering Database holds a Port for it, only to that
 *    Port; otherwise (unknown unicast, group addresses) to every Port
 *    other than the reception Port."                (§7.7.1, paraphrased)
 *
 * Frames addressed to the gateway MAC go only to the local stack;
 * broadcast and multicast go to the local stack and every other link.  A
 * frame that is not well-formed Ethernet, or whose source is a group
 * address or the gateway's own MAC (spoofing), is dropped and counted.
 */

import { EthernetAddress, EthernetFrame, isWireError } from '../wire/index.js';
import type { Link } from './link.js';
import { checksumPartial, completeTcpChecksum, finishPartialChecksum, gsoSize, segmentTcp, wholeFrame } from './gso.js';
import { MacTable, type MacTableOptions } from './mac-table.js';

export interface SwitchOptions {
  /** The gateway's MAC: frames to it go to the local handler. */
  readonly localMac: EthernetAddress;
  /** Milliseconds, monotonic (for MAC aging). */
  readonly now: () => number;
  readonly macTable?: MacTableOptions;
}

/** Receives frames for the gateway.  `from` is the ingress link. */
export type LocalHandler = (frame: Uint8Array, from: Link) => void;

export interface SwitchStats {
  links: number;
  macs: number;
  received: number;
  toLocal: number;
  forwarded: number;
  flooded: number;
  /** Malformed Ethernet, group or spoofed source, or hairpin to the ingress link. */
  dropped: number;
  /** Frames a link refused (its queue was full). */
  egressDropped: number;
  localSent: number;
}

export class Switch {
  private readonly links = new Set<Link>();
  private readonly macs: MacTable<Link>;
  private readonly localMac: EthernetAddress;
  private readonly now: () => number;
  private local: LocalHandler | undefined;
  private tap: ((frame: Uint8Array) => void) | undefined;
  private readonly pumps = new Map<Link, Promise<void>>();
  private readonly counters = {
    received: 0,
    toLocal: 0,
    forwarded: 0,
    flooded: 0,
    dropped: 0,
    egressDropped: 0,
    localSent: 0,
  };

  constructor(opts: SwitchOptions) {
    this.localMac = opts.localMac.slice();
    this.now = opts.now;
    this.macs = new MacTable<Link>(opts.macTable);
  }

  /**
   * Observe every frame the switch sees (from links, and from the gateway),
   * e.g. for a pcap capture.  The frame must not be modified or retained.
   */
  capture(fn: ((frame: Uint8Array) => void) | undefined): void {
    this.tap = fn;
  }

  /** Set the receiver for frames addressed to the gateway (and broadcasts). */
  onLocal(handler: LocalHandler | undefined): void {
    this.local = handler;
  }

  /** Attach a link and start reading its frames.  Resolves when it detaches. */
  addLink(link: Link): Promise<void> {
    if (this.links.has(link)) return this.pumps.get(link) ?? Promise.resolve();
    this.links.add(link);
    const pump = (async () => {
      try {
        if (link.deliverTo !== undefined) await link.deliverTo((frame) => this.input(frame, link));
        else for await (const frame of link.frames()) this.input(frame, link);
      } finally {
        this.links.delete(link);
        this.macs.forgetPort(link);
        this.pumps.delete(link);
      }
    })();
    this.pumps.set(link, pump);
    return pump;
  }

  /** Detach and close a link. */
  async removeLink(link: Link): Promise<void> {
    await link.close();
    await this.pumps.get(link);
  }

  /** Switch one frame that arrived on `from` (exposed for tests and synchronous links). */
  input(frame: Uint8Array, from: Link): void {
    this.counters.received++;
    this.tap?.(frame);
    let eth: EthernetFrame;
    try {
      eth = EthernetFrame.checked(frame);
    } catch (e) {
      if (!isWireError(e)) throw e;
      this.counters.dropped++;
      return;
    }
    const src = eth.srcAddr;
    const dst = eth.dstAddr;
    if (EthernetAddress.isMulticast(src) || EthernetAddress.equals(src, this.localMac)) {
      this.counters.dropped++;
      return;
    }
    const now = this.now();
    this.macs.learn(now, src, from);

    if (EthernetAddress.equals(dst, this.localMac)) {
      this.deliverLocal(frame, from);
      return;
    }
    if (EthernetAddress.isMulticast(dst)) {
      this.deliverLocal(frame, from);
      this.flood(frame, from);
      return;
    }
    const out = this.macs.lookup(now, dst);
    if (out === undefined) {
      this.flood(frame, from);
    } else if (out === from) {
      this.counters.dropped++; // the destination is behind the ingress port
    } else {
      this.counters.forwarded++;
      this.transmit(out, frame);
    }
  }

  /** Send a frame from the gateway: to the link its destination was learned on, else to all. */
  sendLocal(frame: Uint8Array): void {
    this.counters.localSent++;
    if (this.tap !== undefined) this.tap(wholeFrame(frame));
    if (frame.length < 14) {
      this.counters.dropped++;
      return;
    }
    const dst = frame.subarray(0, 6);
    const out = EthernetAddress.isMulticast(dst) ? undefined : this.macs.lookup(this.now(), dst);
    if (out !== undefined) {
      this.transmit(out, frame);
      return;
    }
    this.flood(frame, undefined);
  }

  private deliverLocal(frame: Uint8Array, from: Link): void {
    if (this.local === undefined) return;
    this.counters.toLocal++;
    this.local(frame, from);
  }

  private flood(frame: Uint8Array, from: Link | undefined): void {
    let n = 0;
    for (const l of this.links) {
      if (l === from) continue;
      n++;
      this.transmit(l, frame);
    }
    if (n > 0) this.counters.flooded++;
  }

  private transmit(link: Link, frame: Uint8Array): void {
    finishPartialChecksum(frame); // from a link whose peer left it to us; no-op for most frames
    if (link.scatterGather !== true) frame = wholeFrame(frame); // a payload carried apart is copied in
    if (link.gso !== true) {
      const mss = gsoSize.get(frame);
      if (mss !== undefined) {
        // Each segment gets its own full checksum.
        for (const seg of segmentTcp(frame, mss)) if (!link.send(seg)) this.counters.egressDropped++;
        return;
      }
      if (checksumPartial.has(frame)) {
        // A frame goes to one link only unless flooded; finishing it twice is harmless.
        completeTcpChecksum(frame);
      }
    }
    if (!link.send(frame)) this.counters.egressDropped++;
  }

  /** Age out MAC entries (call from a periodic tick). */
  expire(): void {
    this.macs.expire(this.now());
  }

  get linkCount(): number {
    return this.links.size;
  }

  stats(): SwitchStats {
    return { links: this.links.size, macs: this.macs.size, ...this.counters };
  }

  /** Close every link and wait for their pumps. */
  async close(): Promise<void> {
    const links = [...this.links];
    await Promise.all(links.map((l) => l.close()));
    await Promise.all([...this.pumps.values()]);
  }
}
