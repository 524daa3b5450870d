/**
 * A Linux TAP link (Documentation/networking/tuntap.rst).
 *
 *   "3.2 Frame format: If flag IFF_NO_PI is not set each frame format is:
 *      Flags [2 bytes]  Proto [2 bytes]  Raw protocol(IP, IPv6, etc) frame."
 *   "  /* Flags: IFF_TUN   - TUN device (no Ethernet headers)
 *       *        IFF_TAP   - TAP device
 *       *        IFF_NO_PI - Do not provide packet information
 *       * /
 *      ifr.ifr_flags = flags;
 *      if( *dev )
 *         strncpy(ifr.ifr_name, dev, IFNAMSIZ);
 *      if( (err = ioctl(fd, TUNSETIFF, (void *) &ifr)) < 0 ){"
 *
 * With IFF_TAP | IFF_NO_PI each read(2) returns one whole Ethernet frame and
 * each write(2) injects one.  The fd is opened O_NONBLOCK; koffi's
 * `node.poll` (a libuv uv_poll_t on the fd) wakes the event loop when it
 * is readable, so an idle TAP costs no CPU and no thread-pool slot, and we
 * read until EAGAIN.  Writes to a TAP never block for long (the kernel
 * queues or drops); EAGAIN is a counted drop.
 *
 * This folder is the only one in vpnkit that uses koffi (CONVENTIONS.md #3).
 */

import { closeSync, constants, openSync, writeSync, writevSync } from 'node:fs';
import koffi from 'koffi';
import { checksumPartial, checksumVerified, framePayload, gsoSize, partialChecksumAt } from '../../switch/gso.js';
import { onesFold, pseudoHeaderSum } from '../../wire/checksum.js';
import { FrameQueue } from '../../switch/frame-queue.js';
import { emptyLinkStats, type Link, type LinkStats } from '../../switch/link.js';

/** `_IOW('T', 202, int)` from linux/if_tun.h. */
export const TUNSETIFF = 0x400454ca;
export const IFF_TAP = 0x0002;
export const IFF_NO_PI = 0x1000;
export const IFF_VNET_HDR = 0x4000;
/** `_IOW('T', 208, unsigned int)`: the offloads the kernel may hand us. */
export const TUNSETOFFLOAD = 0x400454d0;
export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;
export const TUN_F_TSO6 = 0x04;
/** sizeof(struct virtio_net_hdr) (include/uapi/linux/virtio_net.h), the default vnet header. */
export const VNET_HDR_LEN = 10;
export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
export const VIRTIO_NET_HDR_GSO_TCPV6 = 4;
export const VIRTIO_NET_HDR_F_DATA_VALID = 2;
/** sizeof(struct ifreq) on Linux: 16-byte name + a 24-byte union. */
export const IFREQ_SIZE = 40;
export const IFNAMSIZ = 16;
/** Linux's O_CLOEXEC (Node's fs.constants does not export it; libuv sets it anyway). */
const O_CLOEXEC = 0o2000000;

const EAGAIN = 11; // also EWOULDBLOCK on Linux

interface TapLibc {
  /** ioctl(2) with a pointer argument (TUNSETIFF): a fixed prototype instead of the variadic one. */
  ioctl: (fd: number, request: number, arg: Uint8Array) => number;
  /** ioctl(2) whose argument is an integer value, not a pointer (TUNSETOFFLOAD). */
  ioctlInt: (fd: number, request: number, arg: number) => number;
  /**
   * read(2) returning -1 instead of throwing: the burst loop ends on EAGAIN once per wake-up,
   * and Node's readSync builds an Error with a stack trace for it (tens of microseconds on a
   * cold path, per frame exchange at low rates).
   */
  read: (fd: number, buf: Uint8Array, count: number) => number;
}
let tapLibc: TapLibc | undefined;

function libc(): TapLibc {
  if (tapLibc !== undefined) return tapLibc;
  if (process.platform !== 'linux') throw new Error(`TAP links need Linux; this is ${process.platform}`);
  const lib = koffi.load('libc.so.6');
  tapLibc = {
    ioctl: lib.func('ioctl', 'int', ['int', 'unsigned long', 'void *']) as TapLibc['ioctl'],
    ioctlInt: lib.func('ioctl', 'int', ['int', 'unsigned long', 'unsigned long']) as TapLibc['ioctlInt'],
    read: lib.func('read', 'intptr_t', ['int', 'void *', 'size_t']) as TapLibc['read'],
  };
  return tapLibc;
}

/**
 * Where the TCP header of an Ethernet + IPv4 (no options) or IPv6 (no
 * extension headers) + TCP frame starts, and its GSO type; undefined for
 * anything else.
 */
function tcpLayout(frame: Uint8Array): { at: number; gsoType: number; v6: boolean } | undefined {
  if (frame.length >= 54 && frame[12] === 0x08 && frame[13] === 0x00 && frame[14] === 0x45 && frame[23] === 6) {
    return { at: 34, gsoType: VIRTIO_NET_HDR_GSO_TCPV4, v6: false };
  }
  if (frame.length >= 74 && frame[12] === 0x86 && frame[13] === 0xdd && ((frame[14] as number) >>> 4) === 6 && frame[20] === 6) {
    return { at: 54, gsoType: VIRTIO_NET_HDR_GSO_TCPV6, v6: true };
  }
  return undefined;
}

/**
 * Turn a TCP/IPv4 or TCP/IPv6 super-segment into what the kernel takes with
 * a vnet header (virtio 1.2 §5.1.6.2): gso_type TCPV4 or TCPV6, gso_size =
 * MSS, hdr_len, NEEDS_CSUM with the TCP checksum field holding the
 * pseudo-header sum (the kernel completes each segment's checksum).  False
 * when the frame is not one (it is then sent as it is).
 */
export function prepareGso(hdr: Uint8Array, frame: Uint8Array, mss: number, total = frame.length): boolean {
  const l = tcpLayout(frame);
  if (l === undefined) return false;
  const thl = (((frame[l.at + 12] as number) >>> 4) & 0x0f) * 4;
  const hdrLen = l.at + thl;
  if (thl < 20 || hdrLen > frame.length || total - hdrLen <= mss) return false;
  const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const tcpLen = total - l.at;
  // In bounds: tcpLayout checked the whole IP header is present.
  const sum = l.v6
    ? pseudoHeaderSum(frame.subarray(22, 38), frame.subarray(38, 54), 6, tcpLen)
    : pseudoHeaderSum(v.getUint32(26), v.getUint32(30), 6, tcpLen);
  v.setUint16(l.at + 16, onesFold(sum));
  hdr.fill(0);
  hdr[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  hdr[1] = l.gsoType;
  hdr[2] = hdrLen & 0xff;
  hdr[3] = hdrLen >>> 8;
  hdr[4] = mss & 0xff;
  hdr[5] = mss >>> 8;
  hdr[6] = l.at; // csum_start: the TCP header
  hdr[8] = 16; // csum_offset: its checksum field
  return true;
}

/** A vnet header asking the kernel to finish the TCP checksum of a (non-GSO) TCP/IPv4 or TCP/IPv6 frame. */
export function preparePartial(hdr: Uint8Array, frame: Uint8Array): boolean {
  const l = tcpLayout(frame);
  if (l === undefined) return false;
  hdr.fill(0);
  hdr[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  hdr[6] = l.at;
  hdr[8] = 16;
  return true;
}

/** Build the `struct ifreq` for TUNSETIFF (exported for tests). */
export function encodeIfreq(name: string, flags: number): Uint8Array {
  const req = new Uint8Array(IFREQ_SIZE);
  const bytes = new TextEncoder().encode(name);
  if (bytes.length >= IFNAMSIZ) throw new RangeError(`interface name "${name}" is longer than ${IFNAMSIZ - 1} bytes`);
  req.set(bytes, 0); // NUL-terminated: the rest of the 16 bytes stays zero
  // ifr_flags is a native-endian short at offset 16; every Linux target we run on is little-endian.
  req[16] = flags & 0xff;
  req[17] = (flags >> 8) & 0xff;
  return req;
}

export function decodeIfreqName(req: Uint8Array): string {
  const end = req.subarray(0, IFNAMSIZ).indexOf(0);
  return new TextDecoder().decode(req.subarray(0, end === -1 ? IFNAMSIZ : end));
}

export interface TapOptions {
  /** Interface name, or a template like 'tap%d' (default: the kernel picks tapN). */
  readonly name?: string;
  /** Largest frame read or written (default 65535 + 14; a TAP has no MTU of its own here). */
  readonly maxFrameSize?: number;
  /** Inbound frames queued before drops (default 1024). */
  readonly queueCapacity?: number;
  /** Frames read per readable wake-up before yielding to the loop (default 256). */
  readonly readBurst?: number;
  /**
   * Let the kernel hand us TCP segments of up to 64 KiB (TSO) and leave
   * checksums to us (IFF_VNET_HDR + TUNSETOFFLOAD TUN_F_CSUM|TSO4|TSO6): one
   * read(2) per 64 KiB instead of one per MTU.  Frames reach the switch as
   * ordinary (large) Ethernet frames with their checksums completed.
   * Default false.
   */
  readonly offload?: boolean;
}

interface PollHandle {
  stop(): void;
  close(): void;
}

export class TapLink implements Link {
  readonly name: string;
  readonly maxFrameSize: number;
  private fd: number;
  private readonly inbox: FrameQueue;
  private readonly poller: PollHandle;
  private readonly read = libc().read;
  private readonly buf: Buffer;
  private readonly burst: number;
  private sink: ((frame: Uint8Array) => void) | undefined;
  private sinkClosed: (() => void) | undefined;
  /** Frames the sink threw on (counted in rxDropped too). */
  sinkErrors = 0;
  private readonly s: LinkStats = emptyLinkStats();
  private isClosed = false;
  /** Bytes of vnet header before each frame (0 without offload). */
  private readonly vnetHdr: number;
  private static readonly zeroHdr = new Uint8Array(VNET_HDR_LEN);
  private readonly gsoHdr = new Uint8Array(VNET_HDR_LEN);
  /** With offload, TCP super-segments go to the kernel whole (it segments them if it must). */
  readonly gso: boolean;
  /** With offload, a frame's separately carried payload goes out in the same writev. */
  readonly scatterGather: boolean;
  /** read(2) errors other than EAGAIN (e.g. EIO once the interface is deleted). */
  readErrors = 0;

  private constructor(fd: number, name: string, opts: TapOptions) {
    this.fd = fd;
    this.name = name;
    this.vnetHdr = opts.offload === true ? VNET_HDR_LEN : 0;
    this.gso = opts.offload === true;
    this.scatterGather = this.gso;
    this.maxFrameSize = opts.maxFrameSize ?? 65535 + 14;
    this.inbox = new FrameQueue(opts.queueCapacity ?? 1024);
    this.burst = opts.readBurst ?? 256;
    this.buf = Buffer.allocUnsafe(this.vnetHdr + this.maxFrameSize + 1);
    // koffi 3.3.4 calls back with (status, events), not the single `PollEvents`
    // its index.d.ts declares (src/koffi/src/uv.cc OnPoll); read both shapes.
    const onPoll = (...args: unknown[]): void => {
      const status = typeof args[0] === 'number' ? args[0] : 0;
      if (status < 0) {
        this.readErrors++;
        return;
      }
      this.drainReadable();
    };
    this.poller = koffi.node.poll(fd, { readable: true }, onPoll as unknown as (ev: unknown) => void);
  }

  /** Create (or attach to) a TAP interface.  Needs CAP_NET_ADMIN. */
  static open(opts: TapOptions = {}): TapLink {
    const fd = openSync('/dev/net/tun', constants.O_RDWR | constants.O_NONBLOCK | O_CLOEXEC);
    try {
      const req = encodeIfreq(opts.name ?? 'tap%d', IFF_TAP | IFF_NO_PI | (opts.offload === true ? IFF_VNET_HDR : 0));
      if (libc().ioctl(fd, TUNSETIFF, req) < 0) {
        const errno = koffi.errno();
        throw new Error(`TUNSETIFF failed: errno ${errno}`);
      }
      if (opts.offload === true && libc().ioctlInt(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0) {
        throw new Error(`TUNSETOFFLOAD failed: errno ${koffi.errno()}`);
      }
      return new TapLink(fd, decodeIfreqName(req), opts);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  private drainReadable(): void {
    for (let i = 0; i < this.burst && !this.isClosed; i++) {
      let n = Number(this.read(this.fd, this.buf, this.buf.length));
      if (n < 0) {
        const errno = koffi.errno();
        if (errno !== EAGAIN) this.readErrors++;
        return;
      }
      if (n === 0) return;
      const h = this.vnetHdr;
      if (n - h > this.maxFrameSize || n - h < 14) {
        this.s.rxDropped++;
        continue;
      }
      const frame = new Uint8Array(n - h);
      frame.set(this.buf.subarray(h, n));
      if (h > 0) {
        const flags = this.buf[0] as number;
        if ((flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0) {
          // The kernel's own data with the checksum left to us: nothing here needs it unless
          // the frame is forwarded to another link, where the switch finishes it.
          const start = (this.buf[6] as number) | ((this.buf[7] as number) << 8);
          const offset = (this.buf[8] as number) | ((this.buf[9] as number) << 8);
          if (start >= frame.length || start + offset + 2 > frame.length) {
            this.s.rxDropped++;
            continue;
          }
          partialChecksumAt.set(frame, start * 65536 + offset);
          checksumVerified.add(frame);
        } else if ((flags & VIRTIO_NET_HDR_F_DATA_VALID) !== 0) {
          checksumVerified.add(frame); // the kernel validated it
        }
      }
      n -= h;
      const sink = this.sink;
      if (sink !== undefined) {
        this.s.rxFrames++;
        this.s.rxBytes += n;
        this.hand(sink, frame);
      } else if (this.inbox.push(frame)) {
        this.s.rxFrames++;
        this.s.rxBytes += n;
      } else {
        this.s.rxDropped++;
      }
    }
    // Burst exhausted with data left: uv_poll is level-triggered, so we are called again.
  }

  frames(): AsyncIterableIterator<Uint8Array> {
    return this.inbox;
  }

  /**
   * Frames go to `sink` from the poll callback itself: the switch's input
   * runs as each frame is read, with no promise per frame.
   */
  deliverTo(sink: (frame: Uint8Array) => void): Promise<void> {
    if (this.sink !== undefined) return Promise.reject(new Error('TapLink: already delivering'));
    for (let f = this.inbox.shift(); f !== undefined; f = this.inbox.shift()) this.hand(sink, f);
    this.sink = sink;
    if (this.isClosed) return Promise.resolve();
    return new Promise((resolve) => (this.sinkClosed = resolve));
  }

  /** One frame (already counted as received) to the sink. */
  private hand(sink: (frame: Uint8Array) => void, frame: Uint8Array): void {
    try {
      sink(frame);
    } catch {
      // A bug downstream must not take the event loop (this is a libuv callback) down.
      this.s.rxFrames--;
      this.s.rxDropped++;
      this.sinkErrors++;
    }
  }

  send(frame: Uint8Array): boolean {
    // The switch hands a payload carried apart (framePayload) only with offload (scatterGather).
    const payload = this.vnetHdr === 0 ? undefined : framePayload.get(frame);
    const total = frame.length + (payload?.length ?? 0);
    if (this.isClosed || total > this.maxFrameSize || frame.length < 14) {
      this.s.txDropped++;
      return false;
    }
    try {
      // Without offload each write is one frame; with it, a zero vnet header
      // (no GSO, checksum complete) goes first, in the same system call.
      if (this.vnetHdr === 0) writeSync(this.fd, frame);
      else {
        const mss = gsoSize.get(frame);
        let hdr = TapLink.zeroHdr;
        if (mss !== undefined && prepareGso(this.gsoHdr, frame, mss, total)) hdr = this.gsoHdr;
        else if (checksumPartial.has(frame) && preparePartial(this.gsoHdr, frame)) hdr = this.gsoHdr;
        writevSync(this.fd, payload === undefined ? [hdr, frame] : [hdr, frame, payload]);
      }
    } catch {
      this.s.txDropped++; // EAGAIN (queue full) or EIO (interface down/gone)
      return false;
    }
    this.s.txFrames++;
    this.s.txBytes += total;
    return true;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  close(): Promise<void> {
    if (!this.isClosed) {
      this.isClosed = true;
      this.poller.stop();
      this.poller.close();
      closeSync(this.fd);
      this.fd = -1;
      this.inbox.end();
      this.sinkClosed?.();
    }
    return Promise.resolve();
  }

  stats(): LinkStats {
    return { ...this.s };
  }
}
