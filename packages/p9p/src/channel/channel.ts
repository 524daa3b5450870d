/*
 * A framed 9P connection over any Node Duplex (socket or in-memory pair).
 *
 * intro(5): "9P messages are sent ... over a reliable transport ... each
 *   message consists of a sequence of bytes ... size[4] type[1] tag[2]".
 * version(5): "msize ... the maximum length, in bytes, it will ever generate
 *   or expect to receive in a single 9P message."
 *
 * Incoming frames go to `onFrame` (views, valid until the callback's caller
 * drops them; nothing reuses their memory). send() honours backpressure: it
 * resolves once the stream has taken the frame and its buffer is under the
 * high-water mark ('drain'). The channel closes once, with a ChannelError
 * saying why (EOF, stream error, oversize frame, close()).
 */
import type { Duplex } from 'node:stream';
import { ChannelError } from './errors.js';
import { FrameReader } from './framer.js';

export interface ChannelOptions {
  /** The byte stream: a net.Socket, or one end of duplexPair(). */
  stream: Duplex;
  /** The largest frame accepted before version negotiation lowers it. */
  maxSize: number;
  /**
   * Called for each whole frame, in order. A throw closes the channel. With
   * `rest`, the frame arrived split and was not copied (see `scatter`):
   * `frame` is its first SCATTER_HEAD bytes, `rest` the others as views.
   */
  onFrame: (frame: Uint8Array, rest?: readonly Uint8Array[]) => void;
  /** The type[1] of split frames handed on in pieces rather than copied (the server: Twrite). */
  scatter?: number;
  /** Called once, when the channel closes, with the reason. */
  onClose?: (err: ChannelError) => void;
}

export class Channel {
  readonly stream: Duplex;
  /** Resolves (never rejects) with the reason once the channel is closed. */
  readonly closed: Promise<ChannelError>;
  private readonly frames: FrameReader;
  private readonly onFrame: (frame: Uint8Array, rest?: readonly Uint8Array[]) => void;
  private readonly onClose: ((err: ChannelError) => void) | undefined;
  private closeReason: ChannelError | undefined;
  private resolveClosed!: (err: ChannelError) => void;
  private drainWaiters: (() => void)[] = [];
  private paused = false;
  /** Bytes received but not yet framed because the channel was paused mid-chunk. */
  private backlog: Uint8Array | undefined;

  /**
   * @example
   *   const ch = new Channel({ stream: socket, maxSize: 8192, onFrame: (f) => console.log(f.length) });
   *   await ch.send(encode({ type: 'Tversion', tag: NOTAG, msize: 8192, version: '9P2000.L' }, '9P2000.L'));
   */
  constructor(opts: ChannelOptions) {
    this.stream = opts.stream;
    this.frames = new FrameReader(opts.maxSize, { scatter: opts.scatter });
    this.onFrame = opts.onFrame;
    this.onClose = opts.onClose;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    const s = this.stream;
    s.on('data', this.handleData);
    s.on('end', () => this.close(new ChannelError('eof', 'the peer closed the connection')));
    s.on('close', () => this.close(new ChannelError('eof', 'the connection closed')));
    s.on('error', (err: unknown) => this.close(new ChannelError('stream-error', `stream error: ${String(err)}`, err)));
    s.on('drain', this.handleDrain);
    s.resume(); // the channel owns reading, even from a stream paused before
    if (s.destroyed) queueMicrotask(() => this.close(new ChannelError('eof', 'the stream was already destroyed')));
  }

  /** The largest frame accepted; lowered to the negotiated msize after Tversion. */
  get maxSize(): number {
    return this.frames.maxSize;
  }

  set maxSize(n: number) {
    this.frames.maxSize = n;
  }

  get isClosed(): boolean {
    return this.closeReason !== undefined;
  }

  /** Why the channel closed, once it has. */
  get reason(): ChannelError | undefined {
    return this.closeReason;
  }

  /**
   * Writes one whole frame. Resolves when the stream can take more (after
   * 'drain' if its buffer was full); rejects with ChannelError once closed.
   * `written`, if given, is called once the stream is done with `frame`'s
   * memory (written out, or failed): only then may the frame be reused.
   */
  send(frame: Uint8Array, written?: () => void): Promise<void> {
    return this.offer(frame, written) ?? Promise.resolve();
  }

  /**
   * send() without a promise when none is needed: undefined once the stream
   * has taken the frame and can take more; otherwise what send() returns (it
   * resolves after 'drain', or rejects once closed).
   */
  offer(frame: Uint8Array, written?: () => void): Promise<void> | undefined {
    if (this.closeReason !== undefined) return Promise.reject(this.closeReason);
    let ok: boolean;
    try {
      ok = written === undefined ? this.stream.write(frame) : this.stream.write(frame, () => written());
    } catch (err) {
      const e = new ChannelError('stream-error', `write failed: ${String(err)}`, err);
      this.close(e);
      return Promise.reject(e);
    }
    if (ok) return undefined;
    return new Promise((resolve, reject) => {
      this.drainWaiters.push(() => (this.closeReason !== undefined ? reject(this.closeReason) : resolve()));
    });
  }

  /**
   * Stops delivering frames, at once (even mid-chunk), and stops reading the
   * stream: backpressure towards the peer.
   */
  pause(): void {
    if (this.closeReason !== undefined) return;
    this.paused = true;
    this.stream.pause();
  }

  resume(): void {
    if (this.closeReason === undefined && this.paused) {
      this.paused = false;
      queueMicrotask(() => {
        const rest = this.backlog;
        this.backlog = undefined;
        if (rest !== undefined) this.handleData(rest);
        if (!this.paused && this.closeReason === undefined) this.stream.resume();
      });
    }
  }

  /** Closes the channel and destroys the stream. Idempotent. */
  close(reason: ChannelError = new ChannelError('closed', 'the channel was closed')): void {
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    this.stream.off('data', this.handleData);
    this.stream.destroy();
    this.handleDrain();
    this.resolveClosed(reason);
    this.onClose?.(reason);
  }

  private readonly handleData = (chunk: unknown): void => {
    if (this.closeReason !== undefined) return;
    const bytes =
      chunk instanceof Uint8Array ? chunk : typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : undefined;
    if (bytes === undefined) {
      this.close(new ChannelError('protocol', 'the stream produced objects, not bytes'));
      return;
    }
    if (this.paused) {
      // A chunk already on its way when pause() was called: keep it.
      this.backlog = this.backlog === undefined ? bytes : Buffer.concat([this.backlog, bytes]);
      return;
    }
    try {
      const used = this.frames.push(bytes, (frame, rest) => {
        if (this.closeReason === undefined) this.onFrame(frame, rest);
        return !this.paused && this.closeReason === undefined;
      });
      if (used < bytes.length && this.closeReason === undefined) this.backlog = bytes.subarray(used);
    } catch (err) {
      this.close(err instanceof ChannelError ? err : new ChannelError('protocol', `frame handler failed: ${String(err)}`, err));
    }
  };

  private readonly handleDrain = (): void => {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  };
}
