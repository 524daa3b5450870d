// Which earlier requests a request on the same fid waits for (fidorder.ts).
import { describe, expect, it } from 'vitest';
import type { Fcall } from '../codec/types.js';
import { claimsOf, mustFollow } from './fidorder.js';

describe('claimsOf', () => {
  it('names the fids of each request, and whether it changes them', () => {
    const c = (m: Fcall) => claimsOf(m).map((x) => `${x.fid}${x.change ? '!' : ''}`);
    expect(c({ type: 'Twalk', tag: 1, fid: 0, newfid: 1, wnames: ['a'] })).toEqual(['0', '1!']);
    expect(c({ type: 'Twalk', tag: 1, fid: 3, newfid: 3, wnames: ['a'] })).toEqual(['3!']);
    expect(c({ type: 'Tlopen', tag: 1, fid: 1, flags: 0 })).toEqual(['1!']);
    expect(c({ type: 'Tclunk', tag: 1, fid: 1 })).toEqual(['1!']);
    expect(c({ type: 'Twrite', tag: 1, fid: 1, offset: 0n, data: new Uint8Array(1) })).toEqual(['1']);
    expect(c({ type: 'Tmkdir', tag: 1, dfid: 2, name: 'd', mode: 0o755, gid: 0 })).toEqual(['2']);
    expect(c({ type: 'Trenameat', tag: 1, olddirfid: 2, oldname: 'a', newdirfid: 4, newname: 'b' })).toEqual(['2', '4']);
    expect(c({ type: 'Tflush', tag: 1, oldtag: 2 })).toEqual([]);
  });
});

describe('mustFollow', () => {
  const c = (m: Fcall) => claimsOf(m);
  const walk = c({ type: 'Twalk', tag: 1, fid: 0, newfid: 1, wnames: ['a'] });
  const open = c({ type: 'Tlopen', tag: 2, fid: 1, flags: 0 });
  const write = c({ type: 'Twrite', tag: 3, fid: 1, offset: 0n, data: new Uint8Array(1) });
  const read = c({ type: 'Tread', tag: 4, fid: 1, offset: 0n, count: 1 });
  const clunk = c({ type: 'Tclunk', tag: 5, fid: 1 });
  const root = c({ type: 'Tgetattr', tag: 6, fid: 0, requestMask: 1n });

  it('a request changing a fid follows everything on it, and everything on it follows the change', () => {
    expect(mustFollow(open, walk)).toBe(true);
    expect(mustFollow(write, open)).toBe(true);
    expect(mustFollow(clunk, write)).toBe(true);
    expect(mustFollow(read, clunk)).toBe(true);
  });

  it('requests that only use a fid do not wait for each other; other fids never wait', () => {
    expect(mustFollow(read, write)).toBe(false);
    expect(mustFollow(write, write)).toBe(false);
    expect(mustFollow(root, walk)).toBe(false); // the walk only uses fid 0
    expect(mustFollow(walk, root)).toBe(false);
    expect(mustFollow(clunk, root)).toBe(false);
  });

  it('a change waits for an earlier use only when that use was itself ordered (pipelined)', () => {
    expect(mustFollow(clunk, read, false)).toBe(false); // a classic client's clunk during a blocked read
    expect(mustFollow(clunk, read, true)).toBe(true);
    expect(mustFollow(read, clunk, false)).toBe(true); // whatever follows a change waits for it
  });
});
