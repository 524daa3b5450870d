/*
 * An in-memory connection: two Duplex ends, what one writes the other reads.
 *
 * intro(5): "9P ... over a reliable transport". This one is in memory, for
 * tests and for serving a handler in-process. Destroying or ending one end
 * ends the other, as closing a socket would. Writes are buffered by the
 * reading end's Readable (bounded by its highWaterMark: a write callback waits
 * until the reader has taken the data), so backpressure works as on a socket.
 */
import { Duplex } from 'node:stream';

class End extends Duplex {
  peer!: End;
  private pendingWrite: (() => void) | undefined;

  override _read(): void {
    const cb = this.peer.pendingWrite;
    if (cb !== undefined) {
      this.peer.pendingWrite = undefined;
      cb();
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.peer.destroyed) {
      cb();
      return;
    }
    if (this.peer.push(chunk)) cb();
    else this.pendingWrite = () => cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.peer.destroyed) this.peer.push(null);
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const pending = this.pendingWrite;
    this.pendingWrite = undefined;
    pending?.();
    if (!this.peer.destroyed) {
      this.peer.push(null);
      this.peer.destroy();
    }
    cb(err);
  }
}

/**
 * Two connected in-memory Duplex streams.
 *
 * @example
 *   const [a, b] = duplexPair();
 *   serve({ stream: b, handler: new MemoryFs() });
 *   const session = await Session.connect({ stream: a });
 */
export function duplexPair(opts: { highWaterMark?: number } = {}): [Duplex, Duplex] {
  const hwm = opts.highWaterMark ?? 64 * 1024;
  const a = new End({ highWaterMark: hwm, allowHalfOpen: false });
  const b = new End({ highWaterMark: hwm, allowHalfOpen: false });
  a.peer = b;
  b.peer = a;
  return [a, b];
}
