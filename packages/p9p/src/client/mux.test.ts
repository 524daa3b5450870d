// The client's multiplexer against a scripted peer: tags, Tflush, bounds.
import { describe, expect, it } from 'vitest';
import { Channel } from '../channel/channel.js';
import { AbortError, ChannelError, RemoteError } from '../channel/errors.js';
import { duplexPair } from '../channel/pair.js';
import { decode } from '../codec/decode.js';
import { encode } from '../codec/encode.js';
import type { Fcall } from '../codec/types.js';
import { Mux } from './mux.js';
import { TagPool } from './tags.js';
import { FidPool } from './fids.js';

function peer(maxTags = 8): { mux: Mux; got: Fcall[]; send: (m: Fcall) => void; next: () => Promise<Fcall> } {
  const [a, b] = duplexPair();
  const mux = new Mux({ stream: a, msize: 8192, maxTags });
  const got: Fcall[] = [];
  let wake: (() => void) | undefined;
  const ch = new Channel({
    stream: b,
    maxSize: 8192,
    onFrame: (f) => {
      got.push(decode(f, '9P2000.L'));
      wake?.();
    },
  });
  const send = (m: Fcall): void => void ch.send(encode(m, '9P2000.L')).catch(() => {});
  let read = 0;
  const next = async (): Promise<Fcall> => {
    while (got.length <= read) await new Promise<void>((r) => (wake = r));
    return got[read++] as Fcall;
  };
  return { mux, got, send, next };
}

describe('Mux', () => {
  it('matches out-of-order replies by tag and maps Rlerror to RemoteError', async () => {
    const { mux, send, next } = peer();
    const p1 = mux.call({ type: 'Tclunk', fid: 1 });
    const p2 = mux.call({ type: 'Treadlink', fid: 2 });
    const t1 = await next();
    const t2 = await next();
    expect(t1.tag).not.toBe(t2.tag);
    send({ type: 'Rreadlink', tag: t2.tag, target: 'x' });
    send({ type: 'Rlerror', tag: t1.tag, ecode: 2 });
    expect((await p2).target).toBe('x');
    const err = await p1.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).code).toBe('ENOENT');
    mux.close();
  });

  it('aborting sends Tflush and rejects once Rflush comes first; the tag waits for Rflush', async () => {
    const { mux, send, next } = peer(1);
    const ac = new AbortController();
    const p = mux.call({ type: 'Tclunk', fid: 1 }, { signal: ac.signal });
    const t = await next();
    ac.abort();
    const f = await next();
    expect(f).toMatchObject({ type: 'Tflush', oldtag: t.tag });
    // Only one ordinary tag: a new call must wait for the Rflush.
    const later = mux.call({ type: 'Tclunk', fid: 9 });
    await new Promise((r) => setTimeout(r, 10));
    expect(mux.tags.inUse).toBe(2);
    send({ type: 'Rflush', tag: f.tag });
    await expect(p).rejects.toBeInstanceOf(AbortError);
    const t3 = await next();
    expect(t3).toMatchObject({ type: 'Tclunk', fid: 9, tag: t.tag });
    send({ type: 'Rclunk', tag: t3.tag });
    await later;
    mux.close();
  });

  it('honours a reply that arrives before the Rflush', async () => {
    const { mux, send, next } = peer();
    const ac = new AbortController();
    const p = mux.call({ type: 'Treadlink', fid: 1 }, { signal: ac.signal });
    const t = await next();
    ac.abort();
    const f = await next();
    send({ type: 'Rreadlink', tag: t.tag, target: 'done' });
    expect((await p).target).toBe('done');
    expect(mux.tags.inUse).toBe(2);
    send({ type: 'Rflush', tag: f.tag });
    await new Promise((r) => setTimeout(r, 10));
    expect(mux.tags.inUse).toBe(0);
    mux.close();
  });

  it('closes the connection on a reply to no request or of the wrong type', async () => {
    const a = peer();
    a.send({ type: 'Rclunk', tag: 5 });
    expect((await a.mux.channel.closed).reason).toBe('protocol');
    const b = peer();
    const p = b.mux.call({ type: 'Tclunk', fid: 1 });
    const t = await b.next();
    b.send({ type: 'Rremove', tag: t.tag });
    await expect(p).rejects.toBeInstanceOf(ChannelError);
  });

  it('rejects pending calls when the connection drops', async () => {
    const { mux, next } = peer();
    const p = mux.call({ type: 'Tclunk', fid: 1 });
    await next();
    mux.close();
    await expect(p).rejects.toBeInstanceOf(ChannelError);
  });
});

describe('pools', () => {
  it('TagPool never lends NOTAG and bounds the tags', () => {
    expect(() => new TagPool(0xffff)).toThrow();
    const pool = new TagPool(2, 1);
    expect(pool.tryAcquire()).toBe(0);
    expect(pool.tryAcquire()).toBe(1);
    expect(pool.tryAcquire()).toBeUndefined();
    expect(pool.tryAcquire(true)).toBe(2);
    expect(pool.tryAcquire(true)).toBeUndefined();
  });

  it('FidPool throws EMFILE at its bound and reuses numbers', () => {
    const pool = new FidPool(2);
    const a = pool.acquire();
    pool.acquire();
    expect(() => pool.acquire()).toThrow(/fids are in use/);
    pool.release(a);
    expect(pool.acquire()).toBe(a);
  });
});
