/**
 * The outer loop: a `Switch` with the `Gateway` on its local port, a clock
 * and the links.  The only place in the stack that owns timers.
 *
 *   const stack = new Stack({ domainName: 'internal' });
 *   stack.start();
 *   stack.addLink(TapLink.open({ name: 'vk0' }));
 *   ...
 *   await stack.close();
 */

import { Switch, type Link, type SwitchStats } from '../switch/index.js';
import { resolveStackConfig, systemClock, type Clock, type StackConfig, type StackOptions } from './config.js';
import { Gateway, type GatewayStats } from './gateway.js';

export interface StackStats {
  switch: SwitchStats;
  gateway: GatewayStats;
  links: Record<string, ReturnType<Link['stats']>>;
}

/** Housekeeping interval for MAC aging when nothing else is due, ms. */
const TICK_MS = 10_000;

export class Stack {
  readonly config: StackConfig;
  readonly clock: Clock;
  readonly switch: Switch;
  readonly gateway: Gateway;
  private readonly links = new Set<Link>();
  private cancelTimer: (() => void) | undefined;
  private timerAt = Infinity;
  private running = false;

  constructor(opts: StackOptions = {}) {
    this.config = resolveStackConfig(opts);
    this.clock = opts.clock ?? systemClock;
    this.switch = new Switch({
      localMac: this.config.gatewayMac,
      now: () => this.clock.now(),
      macTable: { capacity: this.config.macTableSize },
    });
    this.gateway = new Gateway(this.config, this.clock, (f) => this.switch.sendLocal(f));
  }

  /** Start answering frames. */
  start(): void {
    if (this.running) return;
    this.running = true;
    // Frames do not reschedule the timer: nothing a guest frame does creates
    // timed work (replies go out at once, parked packets leave when ARP
    // resolves), and it keeps per-frame cost independent of table sizes.
    this.switch.onLocal((frame) => this.gateway.input(frame));
    this.schedule();
  }

  /** Attach a link; resolves when the link closes. */
  addLink(link: Link): Promise<void> {
    this.links.add(link);
    return this.switch.addLink(link).finally(() => this.links.delete(link));
  }

  /** Send an IPv4 datagram to a guest (see `Gateway.sendIpv4`), then run due timers. */
  sendIpv4(dst: number, packet: Uint8Array): boolean {
    const ok = this.gateway.sendIpv4(dst, packet);
    this.schedule();
    return ok;
  }

  private schedule(): void {
    if (!this.running) return;
    const next = this.gateway.poll();
    const now = this.clock.now();
    const at = Math.min(next ?? Infinity, now + TICK_MS);
    if (at >= this.timerAt && this.cancelTimer !== undefined) return;
    this.cancelTimer?.();
    this.timerAt = at;
    this.cancelTimer = this.clock.setTimer(Math.max(0, at - now), () => {
      this.cancelTimer = undefined;
      this.timerAt = Infinity;
      this.switch.expire();
      this.schedule();
    });
  }

  stats(): StackStats {
    const links: Record<string, ReturnType<Link['stats']>> = {};
    for (const l of this.links) links[l.name] = l.stats();
    return { switch: this.switch.stats(), gateway: this.gateway.stats(), links };
  }

  /** Stop timers and close every link. */
  async close(): Promise<void> {
    this.running = false;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.switch.onLocal(undefined);
    await this.switch.close();
  }
}
