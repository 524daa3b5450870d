// The package's public surface: what index.ts exports, and nothing internal.
import { describe, expect, it } from 'vitest';
import * as p9p from './index.js';
import type { Fcall } from './index.js';

describe('@kitbox/p9p public API', () => {
  it('exports the codec functions and error classes, not the internals', () => {
    const functions = Object.entries(p9p)
      .filter(([, v]) => typeof v === 'function')
      .map(([k]) => k)
      .sort();
    expect(functions).toEqual([
      'AbortError',
      'Channel',
      'ChannelError',
      'EncodeError',
      'Fid',
      'File',
      'FrameReader',
      'LocalFs',
      'MemoryFs',
      'P9Error',
      'ProtocolError',
      'RemoteError',
      'Session',
      'clientAccepts',
      'createReadStream',
      'createWriteStream',
      'decode',
      'decodeDirents',
      'decodeStat',
      'decodeStats',
      'dial',
      'direntLength',
      'dontTouchStat',
      'duplexPair',
      'encode',
      'encodeDirentInto',
      'encodeDirents',
      'encodeInto',
      'encodeStat',
      'encodeStatInto',
      'encodedLength',
      'errnoName',
      'errnoNumber',
      'errnoText',
      'formatDialString',
      'listen',
      'parseDialString',
      'serve',
      'serverVersion',
      'splitStats',
      'statLength',
    ]);
    for (const internal of ['Reader', 'Writer', 'fromHex', 'toHex', 'FCALL_TYPES', 'classic', 'dotl', 'Mux', 'TagPool', 'FidPool', 'FidTable', 'dispatch', 'statFromAttr', 'readDir', 'wstat']) {
      expect(p9p).not.toHaveProperty(internal);
    }
  });

  it('exports the constants', () => {
    expect(p9p.NOTAG).toBe(0xffff);
    expect(p9p.NOFID).toBe(0xffffffff);
    expect(p9p.MAXWELEM).toBe(16);
    expect(p9p.MessageType.Twrite).toBe(118);
    expect(p9p.MessageType.Tlerror).toBe(6);
    expect(p9p.QTDIR).toBe(0x80);
    expect(p9p.DMDIR).toBe(0x80000000);
    expect(p9p.P9_GETATTR_ALL).toBe(0x3fffn);
    expect(p9p.P9_SETATTR_MTIME_SET).toBe(0x100);
    expect(p9p.P9_LOCK_GRACE).toBe(3);
    expect(p9p.P9_DOTL_DIRECTORY).toBe(0o200000);
  });

  it('speaks a version exchange end to end', () => {
    const t: Fcall = { type: 'Tversion', tag: p9p.NOTAG, msize: 65536, version: '9P2000.L' };
    const frame = p9p.encode(t, '9P2000.L');
    expect(p9p.decode(frame, '9P2000.L', { maxSize: 65536 })).toEqual(t);
  });
});
