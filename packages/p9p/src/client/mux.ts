/*
 * Many requests in flight on one channel, replies matched by tag, and
 * cancellation by Tflush.
 *
 * intro(5): "The reply to the message will have the same tag."
 * flush(5): "size[4] Tflush tag[2] oldtag[2]
 *            size[4] Rflush tag[2]"
 *   "When the client sends a Tflush, it must wait to receive the
 *   corresponding Rflush before reusing oldtag for subsequent messages. If a
 *   response to the flushed request is received before the Rflush, the
 *   client must honor the response as if it had not been flushed, since the
 *   completed request may signify a state change (for example, a successful
 *   create)."
 *
 * So an aborted call either resolves (its reply came before the Rflush) or
 * rejects with AbortError (the Rflush came first); its tag is released only
 * when the Rflush arrives. A reply to no outstanding tag, an undecodable
 * reply or a reply of the wrong type closes the connection (the peer can no
 * longer be trusted to be in step).
 */
import type { Duplex } from 'node:stream';
import { decode } from '../codec/decode.js';
import { encode } from '../codec/encode.js';
import { EncodeError, ProtocolError } from '../codec/errors.js';
import type { Dialect, Fcall, FcallOf, FcallType } from '../codec/types.js';
import { Channel } from '../channel/channel.js';
import { AbortError, ChannelError, RemoteError } from '../channel/errors.js';
import { TagPool } from './tags.js';

type TType = Extract<FcallType, `T${string}`>;
/** A T-message without its tag (the mux picks it). */
export type Request = { [K in TType]: Omit<FcallOf<K>, 'tag'> }[Exclude<TType, 'Tversion'>];
/** The R-message that answers T-message `M`. */
export type ReplyTo<M extends { type: FcallType }> = M['type'] extends `T${infer N}`
  ? FcallOf<Extract<`R${N}`, FcallType>>
  : never;

interface Pending {
  expect: FcallType;
  settle: (reply: Fcall | undefined, err?: unknown) => void;
}

export interface MuxOptions {
  stream: Duplex;
  /** Frames above this are refused before negotiation (and it is what Tversion asks for). */
  msize: number;
  maxTags: number;
}

export class Mux {
  readonly channel: Channel;
  readonly tags: TagPool;
  dialect: Dialect = '9P2000.L';
  private readonly pending = new Map<number, Pending>();
  private versionWaiter: ((m: Fcall) => void) | undefined;

  constructor(opts: MuxOptions) {
    this.tags = new TagPool(opts.maxTags);
    this.channel = new Channel({
      stream: opts.stream,
      maxSize: opts.msize,
      onFrame: (f) => this.receive(f),
      onClose: (why) => this.failAll(why),
    });
  }

  get msize(): number {
    return this.channel.maxSize;
  }

  /** Requests whose reply has not arrived (flushes included). */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Sends a Tversion (NOTAG) and resolves with the Rversion. Only with nothing in flight. */
  async version(msize: number, version: string): Promise<{ msize: number; version: string }> {
    const reply = new Promise<Fcall>((resolve) => (this.versionWaiter = resolve));
    await this.channel.send(encode({ type: 'Tversion', tag: 0xffff, msize, version }, '9P2000.L'));
    const m = await Promise.race([reply, this.channel.closed.then((e) => Promise.reject(e))]);
    if (m.type !== 'Rversion') throw new ChannelError('version', `expected Rversion, got ${m.type}`);
    return { msize: m.msize, version: m.version };
  }

  /**
   * Sends `msg` and resolves with its reply. Rlerror/Rerror reject with
   * RemoteError; an abort of `signal` sends Tflush (see above).
   */
  async call<M extends Request>(msg: M, opts: { signal?: AbortSignal } = {}): Promise<ReplyTo<M>> {
    const { signal } = opts;
    if (this.channel.reason !== undefined) throw this.channel.reason;
    if (signal?.aborted) throw new AbortError(undefined, signal.reason);
    const tag = await this.tags.acquire({ signal });
    let frame: Uint8Array;
    try {
      frame = encode({ ...msg, tag } as Fcall, this.dialect);
      if (frame.length > this.msize) {
        throw new EncodeError(`${msg.type} of ${frame.length} bytes exceeds msize ${this.msize}`, { reason: 'too-large' });
      }
    } catch (e) {
      this.tags.release(tag);
      throw e;
    }
    return new Promise<ReplyTo<M>>((resolve, reject) => {
      let flushing = false;
      let answered = false;
      const onAbort = (): void => {
        if (answered || flushing) return;
        flushing = true;
        void this.flush(tag, () => {
          // Rflush (or the connection's end) came before any reply.
          if (!answered) {
            answered = true;
            this.pending.delete(tag);
            reject(new AbortError(undefined, signal?.reason));
          }
        });
      };
      const expect = `R${msg.type.slice(1)}` as FcallType;
      this.pending.set(tag, {
        expect,
        settle: (reply, err) => {
          signal?.removeEventListener('abort', onAbort);
          if (answered) return;
          answered = true;
          this.pending.delete(tag);
          // While a flush is outstanding the tag stays lent until Rflush.
          if (!flushing) this.tags.release(tag);
          if (err !== undefined) reject(err);
          else if (reply === undefined) reject(new ChannelError('protocol', 'no reply'));
          else if (reply.type === 'Rlerror') reject(RemoteError.fromLerror(reply.ecode));
          else if (reply.type === 'Rerror') reject(RemoteError.fromRerror(reply.ename, reply.errno));
          else resolve(reply as ReplyTo<M>);
        },
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.channel.send(frame).catch((e: unknown) => this.pending.get(tag)?.settle(undefined, e));
    });
  }

  /** Sends Tflush(oldtag); `done` runs when Rflush (or the end) arrives, then both tags are released. */
  private async flush(oldtag: number, done: () => void): Promise<void> {
    let tag: number;
    try {
      tag = await this.tags.acquire({ reserved: true });
    } catch {
      done();
      return;
    }
    const finish = (): void => {
      this.pending.delete(tag);
      this.tags.release(tag);
      done();
      this.tags.release(oldtag);
    };
    this.pending.set(tag, { expect: 'Rflush', settle: finish });
    try {
      await this.channel.send(encode({ type: 'Tflush', tag, oldtag }, this.dialect));
    } catch {
      finish();
    }
  }

  close(): void {
    this.channel.close();
  }

  private receive(frame: Uint8Array): void {
    let m: Fcall;
    try {
      m = decode(frame, this.dialect, { maxSize: this.msize });
    } catch (e) {
      const why = e instanceof ProtocolError ? e.message : String(e);
      this.channel.close(new ChannelError('protocol', `undecodable reply: ${why}`, e));
      return;
    }
    if (m.type === 'Rversion' && this.versionWaiter !== undefined) {
      const w = this.versionWaiter;
      this.versionWaiter = undefined;
      w(m);
      return;
    }
    const p = this.pending.get(m.tag);
    if (p === undefined) {
      this.channel.close(new ChannelError('protocol', `${m.type} with tag ${m.tag} answers no request`));
      return;
    }
    if (m.type !== p.expect && m.type !== 'Rlerror' && m.type !== 'Rerror') {
      this.channel.close(new ChannelError('protocol', `${m.type} with tag ${m.tag} answers a request expecting ${p.expect}`));
      return;
    }
    p.settle(m);
  }

  private failAll(why: ChannelError): void {
    this.tags.failAll(why);
    for (const p of [...this.pending.values()]) p.settle(undefined, why);
    this.pending.clear();
  }
}
