import { describe, expect, it } from 'vitest';
import { Channel } from './channel.js';
import { ChannelError } from './errors.js';
import { duplexPair } from './pair.js';
import { errnoName, errnoNumber } from './errno.js';
import { RemoteError } from './errors.js';

function frame(n: number, fill: number): Uint8Array {
  const f = new Uint8Array(n).fill(fill);
  new DataView(f.buffer).setUint32(0, n, true);
  return f;
}

describe('Channel', () => {
  it('carries frames both ways over an in-memory pair', async () => {
    const [a, b] = duplexPair();
    const got: number[] = [];
    const ca = new Channel({ stream: a, maxSize: 1024, onFrame: () => {} });
    const cb = new Channel({ stream: b, maxSize: 1024, onFrame: (f) => got.push(f.length) });
    await ca.send(frame(10, 1));
    await ca.send(frame(1024, 2));
    await new Promise((r) => setTimeout(r, 10));
    expect(got).toEqual([10, 1024]);
    ca.close();
    expect((await cb.closed).reason).toBe('eof');
    expect((await ca.closed).reason).toBe('closed');
    await expect(ca.send(frame(10, 1))).rejects.toBeInstanceOf(ChannelError);
  });

  it('closes with frame-too-large on an oversize prefix', async () => {
    const [a, b] = duplexPair();
    const cb = new Channel({ stream: b, maxSize: 64, onFrame: () => {} });
    a.write(frame(65, 0));
    const why = await cb.closed;
    expect(why.reason).toBe('frame-too-large');
    expect(why.message).toMatch(/65 bytes exceeds msize 64/);
  });

  it('waits for drain when the peer does not read', async () => {
    const [a, b] = duplexPair({ highWaterMark: 1024 });
    const ca = new Channel({ stream: a, maxSize: 1 << 20, onFrame: () => {} });
    const got: number[] = [];
    const cb = new Channel({ stream: b, maxSize: 1 << 20, onFrame: (f) => got.push(f.length) });
    cb.pause();
    let done = false;
    const sending = (async () => {
      for (let i = 0; i < 20; i++) await ca.send(frame(4096, i));
      done = true;
    })();
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    cb.resume();
    await sending;
    await new Promise((r) => setTimeout(r, 10));
    expect(got.length).toBe(20);
  });

  it('offer: no promise while the stream takes frames; then one that settles after drain; a rejected one once closed', async () => {
    const [a, b] = duplexPair({ highWaterMark: 1024 });
    const ca = new Channel({ stream: a, maxSize: 1 << 20, onFrame: () => {} });
    const got: number[] = [];
    const cb = new Channel({ stream: b, maxSize: 1 << 20, onFrame: (f) => got.push(f[4]!) });
    cb.pause();
    expect(ca.offer(frame(100, 1))).toBeUndefined();
    let later: Promise<void> | undefined;
    let sent = 1;
    while (later === undefined && sent < 100) later = ca.offer(frame(4096, ++sent));
    expect(later).toBeInstanceOf(Promise);
    let drained = false;
    void later!.then(() => (drained = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(drained).toBe(false);
    cb.resume();
    await later;
    await new Promise((r) => setTimeout(r, 10));
    expect(got).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
    ca.close();
    await expect(ca.offer(frame(10, 1))).rejects.toBeInstanceOf(ChannelError);
  });

  it('surfaces stream errors', async () => {
    const [a] = duplexPair();
    const ca = new Channel({ stream: a, maxSize: 64, onFrame: () => {} });
    a.destroy(new Error('boom'));
    const why = await ca.closed;
    expect(why.reason).toBe('stream-error');
    expect(why.code).toBe('ECONNRESET');
  });
});

describe('errno and RemoteError', () => {
  it('maps names and numbers', () => {
    expect(errnoName(2)).toBe('ENOENT');
    expect(errnoName(9999)).toBe('E9999');
    expect(errnoNumber('ENOTSUP')).toBe(95);
    expect(errnoNumber('nope')).toBeUndefined();
    const e = RemoteError.fromLerror(2);
    expect(e.code).toBe('ENOENT');
    expect(e.errno).toBe(2);
    expect(RemoteError.fromRerror('file does not exist').errno).toBe(2);
    expect(RemoteError.fromRerror('whatever', 13).errnoName).toBe('EACCES');
  });
});
