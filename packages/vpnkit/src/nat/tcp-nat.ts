/**
 * TCP NAT: every guest TCP connection terminates in our own TCP
 * (`TcpConnection`, RFC 9293) and becomes a host socket; port forwards run
 * the same relay the other way (a host connection opens a connection to
 * the guest).
 *
 *   guest SYN ──► host connect() ──► success: SYN/ACK (TcpConnection.accept)
 *                                └─► refusal: RST at once (RFC 9293 §3.10.7.1)
 *   guest data ─► conn.lendRead() ─► socket.write()  (a view into the receive
 *                 buffer, given back when the socket has flushed it; the
 *                 window closes while the socket is backed up)
 *   socket data ► conn.write() ─► segments        (socket paused while the
 *                                                   send buffer is full)
 *   FIN either way becomes a half-close the other way.
 *
 * The addresses the guest sees: a connection to the host alias (hostIp)
 * reaches the host's 127.0.0.1 (hostIpv6: the host's ::1); to the gateway
 * (gatewayIp or gatewayIpv6), only what a local service handles (DNS on
 * port 53); anything else goes to that address from the host.  Every
 * table is bounded (`maxConnections`, `maxPending`); what does not fit is
 * refused with a RST, never queued.
 */

import type * as net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Clock, StackConfig } from '../stack/config.js';
import { TcpConnection, resetFor, type TcpEvent } from '../tcp/connection.js';
import { resolveOptions, type TcpOptions } from '../tcp/config.js';
import { timeWaitInput, type TimeWait } from '../tcp/time-wait.js';
import { BufferPool } from '../tcp/pool.js';
import { Ipv4Address, Ipv6Address, TcpFlags, type IpAddress, type TcpRepr } from '../wire/index.js';
import { gsoSize } from '../switch/gso.js';
import { DeadlineQueue } from './deadlines.js';
import { FlowTable, sameAddr, type FlowEnds } from './flow-table.js';
import type { HostNetwork } from './host.js';
import { natRoutable, natRoutable6, tcpFrame, tcpFrame6 } from './packet.js';

/** What the NAT needs from the gateway. */
export interface GuestPort {
  /** Send a frame built by `tcpFrame`/`udpFrames` (14 bytes of headroom). */
  sendIpv4Frame(dst: Ipv4Address, frame: Uint8Array): boolean;
  /** The same for a frame built by `tcpFrame6`/`udpFrames6`. */
  sendIpv6Frame(dst: Ipv6Address, frame: Uint8Array): boolean;
  nextIdent(): number;
}

/** The IP header fields the NAT reads (an `Ipv4Repr` or an `Ipv6Repr`). */
export interface IpEnds {
  readonly src: IpAddress;
  readonly dst: IpAddress;
}

/** A service the gateway itself offers over TCP (e.g. DNS on port 53). */
export type LocalTcpService = () => Duplex;

export interface TcpNatOptions {
  /** Established + closing connections. Default 16384. */
  maxConnections?: number;
  /** Host connects in progress. Default 1024. */
  maxPending?: number;
  /**
   * Connections kept in TIME-WAIT at most (each ~200 bytes, apart from the
   * connection table: `time-wait.ts`); past it the oldest ends early, as
   * Linux does past tcp_max_tw_buckets.  0 keeps none.  Default 65536.
   */
  maxTimeWait?: number;
  /** Give up a host connect() after this long (the guest gets a RST). Default 20000 ms. */
  connectTimeoutMs?: number;
  /**
   * Per-connection TCP parameters.  Buffers default to 4 MiB per direction;
   * past the first 16 KiB each, they grow only within `bufferMemory`.
   */
  tcp?: Omit<TcpOptions, 'random' | 'mtu' | 'pool'>;
  /**
   * Bytes all connections' buffers may hold beyond 16 KiB per direction each
   * (shared; a connection gives its share back when it ends).  Default 256 MiB.
   * Memory for buffers is then at most this plus 32 KiB per connection.
   */
  bufferMemory?: number;
  /**
   * Every this many ms, connections whose buffers are empty give their
   * storage back to the pool (an idle keep-alive connection that once moved
   * a lot would hold up to 8 MiB of it).  Default 10000; 0 disables.
   */
  bufferTrimMs?: number;
  /** Services on the gateway address, by port. */
  localServices?: ReadonlyMap<number, LocalTcpService>;
}

export interface TcpNatStats {
  connections: number;
  pending: number;
  opened: number;
  refused: number;
  /** SYNs refused because a table was full. */
  overflow: number;
  /** Segments without a connection answered with a RST. */
  strayResets: number;
  forwarded: number;
  /** Buffer bytes charged to the shared pool now, and its limit (`bufferMemory`). */
  bufferBytes: number;
  bufferLimit: number;
  /** Connections in TIME-WAIT (kept apart, not counted in `connections`). */
  timeWait: number;
  /** TIME-WAITs cut short because `maxTimeWait` were kept already. */
  timeWaitOverflow: number;
}

type Origin = 'guest' | 'forward';

/** A connection in TIME-WAIT: its ends and what `timeWaitInput` needs. */
interface TimeWaitFlow extends FlowEnds {
  readonly tw: TimeWait;
  /** Out of the table (reopened, reset or evicted): skipped by the expiry queue. */
  gone: boolean;
}

interface Flow {
  readonly origin: Origin;
  /** The guest's end. */
  readonly guestIp: IpAddress;
  readonly guestPort: number;
  /** The far end as the guest sees it. */
  readonly peerIp: IpAddress;
  readonly peerPort: number;
  socket: Duplex;
  conn: TcpConnection | undefined;
  emit: (seg: TcpRepr) => void;
  /** Socket data `conn.write` has not taken yet (the socket is paused meanwhile). */
  toGuest: Uint8Array | undefined;
  /** The host sent its FIN: shut down towards the guest once `toGuest` is flushed. */
  hostEnded: boolean;
  /** The guest's FIN arrived: end the socket once the received data is written. */
  guestEof: boolean;
  socketEnded: boolean;
  socketBlocked: boolean;
  done: boolean;
  /** Port-forward that created it (closed with it on unexpose). */
  forwardId: string | undefined;
}

/** A finished flow's `emit`: nothing more goes to the guest. */
function finishedEmit(): void {}

/** A CSPRNG-backed `RandomSource`, drawing 1 KiB at a time. */
function cryptoRandom(): () => number {
  const pool = new Uint32Array(256);
  let i = pool.length;
  return () => {
    if (i >= pool.length) {
      globalThis.crypto.getRandomValues(pool);
      i = 0;
    }
    return pool[i++] as number;
  };
}

/** Bytes a host socket reads at most at once (libuv's own read size). */
const READ_BUFFER = 64 * 1024;
/** Below this much room in the send buffer a read is not narrowed to it. */
const MIN_READ = 4096;

export class TcpNat {
  private readonly flows = new FlowTable<Flow>();
  private readonly deadlines = new DeadlineQueue<Flow>();
  private pendingCount = 0;
  private readonly opts: Required<Omit<TcpNatOptions, 'tcp' | 'localServices' | 'bufferMemory' | 'bufferTrimMs'>>;
  private readonly trimTimer: ReturnType<typeof setInterval> | undefined;
  private readonly pool: BufferPool;
  private readonly tcpOpts: TcpOptions;
  private readonly services: ReadonlyMap<number, LocalTcpService>;
  private readonly counters = { opened: 0, refused: 0, overflow: 0, strayResets: 0, forwarded: 0, timeWaitOverflow: 0 };
  private readonly timeWaits = new FlowTable<TimeWaitFlow>();
  /** The same, oldest first from `twHead` (all have the same 2*MSL, bar restarts by a FIN). */
  private twQueue: TimeWaitFlow[] = [];
  private twHead = 0;
  private readonly msl: number;
  private closed = false;
  /** Flows with input (host data, guest segments) this event-loop turn, not yet run: `kickSoon`. */
  private readonly soon = new Set<Flow>();
  private soonScheduled = false;
  /**
   * Where host sockets that we connect read into (`onread`), one for all of
   * them: each read is copied into its connection's send buffer before the
   * callback returns, so no socket read allocates a chunk of its own (with
   * 'data' events Node allocates 64 KiB per read, for the GC to collect).
   */
  private readonly readBuf = new Uint8Array(READ_BUFFER);

  constructor(
    private readonly config: StackConfig,
    private readonly clock: Clock,
    private readonly guest: GuestPort,
    private readonly host: HostNetwork,
    /** Called with a deadline earlier than any the stack may have armed. */
    private readonly wake: (at: number) => void,
    opts: TcpNatOptions = {},
  ) {
    this.opts = {
      maxConnections: opts.maxConnections ?? 16384,
      maxPending: opts.maxPending ?? 1024,
      maxTimeWait: opts.maxTimeWait ?? 65536,
      connectTimeoutMs: opts.connectTimeoutMs ?? 20_000,
    };
    // Segmentation offload by default: one super-segment of up to ~60 KB is built once and cut
    // by the link (TAP with TSO) or by the switch, instead of one trip through the TCP per MSS.
    this.pool = new BufferPool(opts.bufferMemory ?? 256 * 1024 * 1024);
    const trimMs = opts.bufferTrimMs ?? 10_000;
    if (trimMs > 0) {
      this.trimTimer = setInterval(() => this.trimIdle(), trimMs);
      this.trimTimer.unref();
    }
    // 4 MiB: throughput through the relay is about buffer / round trip, and the
    // round trip includes both event loops (256 KiB measured 3.0-3.4 Gbit/s
    // over a TAP where 4 MiB gave 4.2-5.3, alternating runs on one machine).
    this.tcpOpts = {
      rxBufferSize: 4 * 1024 * 1024,
      txBufferSize: 4 * 1024 * 1024,
      maxSegmentBytes: 60_000,
      ...opts.tcp,
      random: cryptoRandom(),
      mtu: config.mtu,
      pool: this.pool,
    };
    this.services = opts.localServices ?? new Map();
    this.msl = resolveOptions(this.tcpOpts).msl;
  }

  /** A TCP segment from the guest, over IPv4 or IPv6 (checksum already verified). */
  input(ip: IpEnds, seg: TcpRepr): void {
    if (this.closed) return;
    const flow = this.flows.get(ip.src, seg.srcPort, ip.dst, seg.dstPort);
    if (flow !== undefined) {
      if (flow.conn !== undefined) {
        flow.conn.process(this.clock.now(), seg);
        this.kickSoon(flow);
      } else if (seg.flags & TcpFlags.Rst) {
        // The guest gave up while the host connect was in progress.
        this.finish(flow, 'reset');
      }
      // Else a retransmitted SYN while connecting: the SYN/ACK follows the connect.
      return;
    }
    if (this.timeWaits.size > 0) {
      const tw = this.timeWaits.get(ip.src, seg.srcPort, ip.dst, seg.dstPort);
      if (tw !== undefined) {
        const v = timeWaitInput(tw.tw, seg, this.clock.now(), this.msl);
        if (v.kind === 'ack') this.answer(ip, v.reply);
        if (v.kind === 'close' || v.kind === 'reopen') this.forgetTimeWait(tw);
        if (v.kind !== 'reopen') return;
      }
    }
    if (seg.flags & TcpFlags.Rst) return;
    if ((seg.flags & (TcpFlags.Syn | TcpFlags.Ack)) !== TcpFlags.Syn) {
      this.counters.strayResets++;
      this.reject(ip, seg);
      return;
    }
    this.open(ip, seg);
  }

  /** Where a guest connection to `dst` goes on the host; undefined when nowhere. */
  private hostAddress(dst: IpAddress): string | undefined {
    const c = this.config;
    if (typeof dst === 'number') {
      if (!natRoutable(c, dst)) return undefined;
      return dst === c.hostIp ? '127.0.0.1' : Ipv4Address.format(dst);
    }
    if (!c.ipv6 || !natRoutable6(c, dst)) return undefined;
    return Ipv6Address.equals(dst, c.hostIpv6) ? '::1' : Ipv6Address.format(dst);
  }

  private isGateway(dst: IpAddress): boolean {
    return typeof dst === 'number' ? dst >>> 0 === this.config.gatewayIp >>> 0 : this.config.ipv6 && sameAddr(dst, this.config.gatewayIpv6);
  }

  private open(ip: IpEnds, syn: TcpRepr): void {
    const dst = typeof ip.dst === 'number' ? ip.dst >>> 0 : ip.dst;
    let socket: Duplex;
    const made: { flow?: Flow } = {}; // for the socket's read callbacks, which may run before the flow is made
    let connecting: net.Socket | undefined;
    if (this.isGateway(dst)) {
      const service = this.services.get(syn.dstPort);
      if (service === undefined) {
        this.counters.refused++;
        this.reject(ip, syn);
        return;
      }
      // The gateway's services share the connection table's bound: each session holds a Duplex
      // and a TCP connection like any other flow.
      if (this.flows.size >= this.opts.maxConnections) {
        this.counters.overflow++;
        this.reject(ip, syn);
        return;
      }
      socket = service();
    } else {
      const hostAddr = this.hostAddress(dst);
      if (hostAddr === undefined) return;
      if (this.pendingCount >= this.opts.maxPending || this.flows.size >= this.opts.maxConnections) {
        this.counters.overflow++;
        this.reject(ip, syn);
        return;
      }
      connecting = this.host.connectTcp(hostAddr, syn.dstPort, this.onread(() => made.flow));
      socket = connecting;
    }
    // Keep only what accept() needs from the SYN: its payload is a view into the frame.
    const synCopy: TcpRepr = { ...syn, payload: new Uint8Array(0) };
    const src = typeof ip.src === 'number' ? ip.src >>> 0 : ip.src;
    const flow = this.newFlow('guest', src, syn.srcPort, dst, syn.dstPort, socket, undefined);
    made.flow = flow;
    const established = (): void => {
      if (flow.done) return;
      const now = this.clock.now();
      flow.conn = TcpConnection.accept(
        now,
        { addr: flow.peerIp, port: flow.peerPort },
        { addr: flow.guestIp, port: flow.guestPort },
        synCopy,
        this.tcpOpts,
      );
      this.counters.opened++;
      this.attach(flow);
      this.kick(flow);
    };
    if (connecting === undefined) {
      established();
      return;
    }
    const sock = connecting;
    this.pendingCount++;
    let pending = true;
    const settle = (): void => {
      if (pending) {
        pending = false;
        this.pendingCount--;
      }
    };
    // What a refusal needs of the SYN, not `ip` (the parsed IP header): these listeners live
    // as long as the socket (see finish).
    const ends: IpEnds = { src, dst };
    const onRefused = (): void => {
      if (!pending) return; // after connect: the relay's handler deals with it
      settle();
      if (flow.done) return;
      this.counters.refused++;
      this.reject(ends, synCopy);
      this.finish(flow, 'refused');
    };
    // The connect deadline rides the connections' own queue (poll ends it), not a Node timer.
    const giveUpAt = this.clock.now() + this.opts.connectTimeoutMs;
    this.deadlines.set(flow, giveUpAt);
    this.wake(giveUpAt);
    sock.once('connect', () => {
      settle();
      established();
    });
    sock.once('error', onRefused);
    sock.once('close', settle);
  }

  /**
   * Port forward: relay a host connection to `guestIp:guestPort` (IPv4 or
   * IPv6), from the gateway address of that family and an ephemeral port.
   * The socket must be paused.
   */
  openToGuest(socket: net.Socket, guestIp: IpAddress, guestPort: number, forwardId?: string): boolean {
    if (this.closed || this.flows.size >= this.opts.maxConnections) {
      this.counters.overflow++;
      socket.destroy();
      return false;
    }
    if (typeof guestIp !== 'number' && !this.config.ipv6) {
      socket.destroy();
      return false;
    }
    const src: IpAddress = typeof guestIp === 'number' ? this.config.gatewayIp : this.config.gatewayIpv6;
    let port = 0;
    for (let tries = 0; tries < 64; tries++) {
      const p = 32768 + Math.floor(Math.random() * (61000 - 32768));
      if (!this.flows.has(guestIp, guestPort, src, p) && !this.timeWaits.has(guestIp, guestPort, src, p)) {
        port = p;
        break;
      }
    }
    if (port === 0) {
      this.counters.overflow++;
      socket.destroy();
      return false;
    }
    const flow = this.newFlow('forward', guestIp, guestPort, src, port, socket, forwardId);
    flow.conn = TcpConnection.connect(this.clock.now(), { addr: src, port }, { addr: guestIp, port: guestPort }, this.tcpOpts);
    this.counters.forwarded++;
    this.attach(flow);
    this.kick(flow);
    return true;
  }

  /** Abort every connection a port forward opened. */
  closeForward(forwardId: string): void {
    for (const f of this.flows.list()) {
      if (f.forwardId !== forwardId) continue;
      f.conn?.abort();
      if (f.conn !== undefined) this.kick(f);
      else this.finish(f, 'aborted');
    }
  }

  private newFlow(
    origin: Origin,
    guestIp: IpAddress,
    guestPort: number,
    peerIp: IpAddress,
    peerPort: number,
    socket: Duplex,
    forwardId: string | undefined,
  ): Flow {
    const emit4 = (g: Ipv4Address, p: Ipv4Address, seg: TcpRepr): void => {
      const frame = tcpFrame(p, g, this.guest.nextIdent(), seg, true);
      const mss = flow.conn?.mss;
      if (mss !== undefined && seg.payload.length > mss) gsoSize.set(frame, mss);
      this.guest.sendIpv4Frame(g, frame);
    };
    const emit6 = (g: Ipv6Address, p: Ipv6Address, seg: TcpRepr): void => {
      const frame = tcpFrame6(p, g, seg, true);
      const mss = flow.conn?.mss;
      if (mss !== undefined && seg.payload.length > mss) gsoSize.set(frame, mss);
      this.guest.sendIpv6Frame(g, frame);
    };
    const flow: Flow = {
      origin,
      guestIp,
      guestPort,
      peerIp,
      peerPort,
      socket,
      conn: undefined,
      emit:
        typeof guestIp === 'number' && typeof peerIp === 'number'
          ? (seg) => emit4(guestIp, peerIp, seg)
          : (seg) => emit6(guestIp as Ipv6Address, peerIp as Ipv6Address, seg),
      toGuest: undefined,
      hostEnded: false,
      guestEof: false,
      socketEnded: false,
      socketBlocked: false,
      done: false,
      forwardId,
    };
    this.flows.add(flow);
    return flow;
  }

  /** Wire the socket's events to the connection. */
  private attach(flow: Flow): void {
    const s = flow.socket;
    s.on('data', (chunk: Buffer) => this.fromHost(flow, chunk));
    s.on('end', () => {
      flow.hostEnded = true;
      if (flow.toGuest === undefined) flow.conn?.shutdown();
      this.kick(flow);
    });
    s.on('drain', () => {
      flow.socketBlocked = false;
      this.toHost(flow);
      this.kick(flow);
    });
    s.on('error', () => {
      // ECONNRESET and friends: reset the guest's side too.
      if (flow.done) return;
      flow.conn?.abort();
      this.kick(flow);
    });
    s.on('close', () => {
      if (flow.done || flow.conn === undefined) return;
      // Closed without an error after both ends: TCP finishes by itself.
      // Closed under us otherwise (destroyed): abort.
      if (!(flow.hostEnded && flow.socketEnded)) {
        flow.conn.abort();
        this.kick(flow);
      }
    });
    if (flow.origin === 'guest') s.resume();
  }

  /**
   * The socket reads into `readBuf`, at most what the send buffer takes now
   * (the whole buffer when that is little: the rest then waits in `toGuest`).
   * Called with the flow not yet made (the socket's first buffer is asked for
   * as it is created): that read would come after it is.
   */
  private onread(flowOf: () => Flow | undefined): net.OnReadOpts {
    const buf = this.readBuf;
    return {
      buffer: () => {
        const room = flowOf()?.conn?.writeSpace ?? 0;
        return room >= MIN_READ && room < buf.length ? buf.subarray(0, room) : buf;
      },
      callback: (n: number, into: Uint8Array) => {
        const flow = flowOf();
        if (flow !== undefined) this.fromHost(flow, into.subarray(0, n), true);
        return true; // fromHost pauses the socket itself when the send buffer is full
      },
    };
  }

  /** `chunk` from the host socket; `transient` when it is a view of `readBuf` (reused after this call). */
  private fromHost(flow: Flow, chunk: Uint8Array, transient = false): void {
    const conn = flow.conn;
    if (conn === undefined || flow.done) return;
    if (flow.toGuest !== undefined) {
      // A chunk that was already on its way when we paused.
      const merged = new Uint8Array(flow.toGuest.length + chunk.length);
      merged.set(flow.toGuest);
      merged.set(chunk, flow.toGuest.length);
      flow.toGuest = merged;
    } else {
      const n = conn.write(chunk);
      if (n < chunk.length) flow.toGuest = transient ? chunk.slice(n) : chunk.subarray(n);
    }
    if (flow.toGuest !== undefined) flow.socket.pause();
    this.kickSoon(flow);
  }

  /**
   * Run the connection once this turn's reads are done, not per chunk or per
   * segment.  libuv reads a busy socket in 64 KiB chunks, several per poll
   * phase; sent one by one, each chunk became an MSS-multiple segment plus a
   * small tail (65,536 = 65,468 + 68 bytes at MTU 65520).  Likewise a burst
   * of ACKs read from the link answered each with a small send.  Deferred,
   * the chunks and ACKs of one poll phase are taken in first and sent as few
   * large segments.  An immediate runs in the same loop iteration, right
   * after the poll phase, so this adds no wait, only coalescing.
   */
  private kickSoon(flow: Flow): void {
    this.soon.add(flow);
    if (this.soonScheduled) return;
    this.soonScheduled = true;
    setImmediate(this.kickDeferred);
  }

  private readonly kickDeferred = (): void => {
    this.soonScheduled = false;
    const flows = [...this.soon];
    this.soon.clear();
    for (const f of flows) this.kick(f);
  };

  /** Move what the guest sent into the socket, until it pushes back. */
  private toHost(flow: Flow): void {
    const conn = flow.conn;
    if (conn === undefined) return;
    const s = flow.socket;
    while (!flow.socketBlocked && !s.destroyed && !flow.socketEnded) {
      // A view into the receive buffer, not a copy: the bytes stay there (and out of the
      // guest's window) until the socket has flushed them.
      const data = conn.lendRead();
      if (data === undefined) break;
      const n = data.length;
      if (!s.write(data, () => this.flushed(flow, n))) flow.socketBlocked = true;
    }
    if (flow.guestEof && conn.readable === 0 && !flow.socketEnded && !s.destroyed) {
      flow.socketEnded = true;
      s.end();
    }
  }

  /** The socket is done with `n` lent bytes: they leave the receive buffer, the window opens. */
  private flushed(flow: Flow, n: number): void {
    if (flow.done || flow.conn === undefined) return;
    flow.conn.returnRead(n);
    this.kickSoon(flow); // a window update may be due
  }

  /** Let the guest's send buffer take what the socket had left. */
  private toGuest(flow: Flow): void {
    const conn = flow.conn;
    const pending = flow.toGuest;
    if (conn === undefined || pending === undefined) return;
    const n = conn.write(pending);
    if (n < pending.length) {
      flow.toGuest = pending.subarray(n);
      return;
    }
    flow.toGuest = undefined;
    if (flow.hostEnded) conn.shutdown();
    else flow.socket.resume();
  }

  /** Run the connection until it is quiet: events, then segments due now. */
  private kick(flow: Flow): void {
    const conn = flow.conn;
    if (conn === undefined || flow.done) return;
    const now = this.clock.now();
    for (let round = 0; round < 64; round++) {
      const events = conn.takeEvents();
      for (const e of events) this.onEvent(flow, e);
      if (flow.done) return;
      const at = conn.pollAt();
      const due = at !== undefined && at <= now;
      if (due) conn.dispatch(now, flow.emit);
      if (!due && events.length === 0) break;
    }
    if (flow.done) return;
    // Our FIN is acknowledged and theirs taken (and acknowledged: nothing else is due before
    // the end of TIME-WAIT): only TIME-WAIT's few numbers need to stay.
    if (conn.state === 'TIME-WAIT' && this.enterTimeWait(flow, conn)) return;
    const at = conn.pollAt();
    this.deadlines.set(flow, at);
    if (at !== undefined) this.wake(at);
  }

  private onEvent(flow: Flow, e: TcpEvent): void {
    switch (e.type) {
      case 'established':
        if (flow.origin === 'forward') flow.socket.resume();
        return;
      case 'readable':
        this.toHost(flow);
        return;
      case 'writable':
        this.toGuest(flow);
        return;
      case 'eof':
        flow.guestEof = true;
        this.toHost(flow);
        return;
      case 'closed':
        // Flush what is left on the way out (a FIN may have followed data).
        if (e.reason === 'normal') this.toHost(flow);
        this.finish(flow, e.reason);
        return;
    }
  }

  private finish(flow: Flow, reason: string): void {
    if (flow.done) return;
    flow.done = true;
    this.flows.delete(flow);
    this.deadlines.delete(flow);
    // Whatever was to be flushed to the socket was (onEvent 'closed'); the rest is dropped.
    flow.conn?.releaseBuffers();
    const s = flow.socket;
    if (reason === 'normal') {
      if (!flow.socketEnded && !s.destroyed) {
        flow.socketEnded = true;
        s.end();
      }
      // Both directions are closed: release the descriptor once the end is flushed.
      s.once('finish', () => s.destroy());
      if (s.writableFinished) s.destroy();
    } else if (reason === 'reset' || reason === 'aborted' || reason === 'timeout' || reason === 'refused') {
      const sock = s as Partial<net.Socket>;
      if (typeof sock.resetAndDestroy === 'function' && !s.destroyed && (sock as net.Socket).readyState === 'open') {
        sock.resetAndDestroy();
      } else {
        s.destroy();
      }
    } else {
      s.destroy();
    }
    // The socket's listeners (and its onread callback) reach this flow for as long as the
    // socket object lives, and a closed host socket with all it reaches was seen surviving
    // young-generation GCs (6.8 KB promoted per connection in a connect+close loop): the flow
    // lets go of the connection, its buffers and frames here, so those die young (4.7 KB).
    flow.conn = undefined;
    flow.toGuest = undefined;
    flow.emit = finishedEmit;
  }

  /** Answer a segment with a RST (refused port, no connection). */
  private reject(ip: IpEnds, seg: TcpRepr): void {
    const rst = resetFor(seg);
    if (rst !== undefined) this.answer(ip, rst);
  }

  /** Send `seg` back to where a segment with the ends `ip` came from. */
  private answer(ip: IpEnds, seg: TcpRepr): void {
    const { src, dst } = ip;
    if (typeof src === 'number' && typeof dst === 'number') this.guest.sendIpv4Frame(src, tcpFrame(dst, src, this.guest.nextIdent(), seg));
    else if (typeof src !== 'number' && typeof dst !== 'number') this.guest.sendIpv6Frame(src, tcpFrame6(dst, src, seg));
  }

  /**
   * Swap a connection in TIME-WAIT for its `TimeWait` (time-wait.ts) and
   * close its socket; false (nothing done) while anything but the end of
   * TIME-WAIT is still due on it.
   */
  private enterTimeWait(flow: Flow, conn: TcpConnection): boolean {
    const tw = conn.timeWait();
    if (tw === undefined || conn.pollAt() !== tw.until) return false;
    this.finish(flow, 'normal');
    const max = this.opts.maxTimeWait;
    if (max === 0) return true;
    while (this.timeWaits.size >= max && this.twHead < this.twQueue.length) {
      const oldest = this.twQueue[this.twHead++];
      if (oldest !== undefined && !oldest.gone) {
        this.forgetTimeWait(oldest);
        this.counters.timeWaitOverflow++;
      }
    }
    const entry: TimeWaitFlow = { guestIp: flow.guestIp, guestPort: flow.guestPort, peerIp: flow.peerIp, peerPort: flow.peerPort, tw, gone: false };
    this.timeWaits.add(entry);
    this.twQueue.push(entry);
    this.wake(tw.until);
    return true;
  }

  private forgetTimeWait(entry: TimeWaitFlow): void {
    entry.gone = true;
    this.timeWaits.delete(entry);
  }

  /** End the TIME-WAITs that are over (oldest first; one restarted by a FIN holds those after it back). */
  private expireTimeWaits(now: number): void {
    const q = this.twQueue;
    while (this.twHead < q.length) {
      const e = q[this.twHead] as TimeWaitFlow;
      if (!e.gone) {
        if (e.tw.until > now) break;
        this.forgetTimeWait(e);
      }
      this.twHead++;
    }
    if (this.twHead > 1024 && this.twHead * 2 > q.length) {
      this.twQueue = q.slice(this.twHead);
      this.twHead = 0;
    }
  }

  /** When the oldest TIME-WAIT ends (the entries already gone in front are passed over for good). */
  private nextTimeWaitEnd(): number | undefined {
    const q = this.twQueue;
    while (this.twHead < q.length && (q[this.twHead] as TimeWaitFlow).gone) this.twHead++;
    return q[this.twHead]?.tw.until;
  }


  /** Earliest timer of any connection. */
  pollAt(): number | undefined {
    const a = this.deadlines.peek();
    const b = this.timeWaits.size > 0 ? this.nextTimeWaitEnd() : undefined;
    return a === undefined ? b : b === undefined ? a : Math.min(a, b);
  }

  /** Run the connections whose timers are due. */
  poll(now: number): void {
    for (const flow of this.deadlines.popDue(now)) {
      if (flow.conn === undefined && !flow.done) {
        // Still connecting at its deadline: the socket's 'error' answers the guest with a RST.
        flow.socket.destroy(new Error('connect timeout'));
        continue;
      }
      this.kick(flow);
    }
    if (this.timeWaits.size > 0) this.expireTimeWaits(now);
  }

  stats(): TcpNatStats {
    return {
      connections: this.flows.size - this.pendingCount,
      pending: this.pendingCount,
      ...this.counters,
      bufferBytes: this.pool.used,
      bufferLimit: this.pool.limit,
      timeWait: this.timeWaits.size,
    };
  }

  /** Connections with empty buffers give their storage back (see `bufferTrimMs`). */
  private trimIdle(): void {
    if (this.pool.used === 0) return;
    for (const f of this.flows.list()) if (!f.done) f.conn?.trimBuffers();
  }

  /** Reset every connection and release every socket. */
  close(): void {
    this.closed = true;
    if (this.trimTimer !== undefined) clearInterval(this.trimTimer);
    for (const e of this.twQueue) this.forgetTimeWait(e);
    this.twQueue = [];
    this.twHead = 0;
    for (const f of this.flows.list()) {
      if (f.conn !== undefined) {
        f.conn.abort();
        f.conn.dispatch(this.clock.now(), f.emit);
      }
      this.finish(f, 'aborted');
    }
  }
}
