// The client's 9P2000 and 9P2000.u paths against a scripted server.
import { describe, expect, it } from 'vitest';
import { Channel } from '../channel/channel.js';
import { duplexPair } from '../channel/pair.js';
import { QTDIR } from '../codec/constants.js';
import { decode } from '../codec/decode.js';
import { encode } from '../codec/encode.js';
import { encodeStat } from '../codec/stat.js';
import type { Dialect, Fcall, Qid, Stat } from '../codec/types.js';
import { RemoteError } from '../channel/errors.js';
import { Session } from './session.js';

function classicServer(dialect: Dialect): { stream: ReturnType<typeof duplexPair>[0]; files: Map<string, Uint8Array>; seen: string[] } {
  const [a, b] = duplexPair();
  const files = new Map<string, Uint8Array>([['hello', new TextEncoder().encode('hello, plan 9')]]);
  const fids = new Map<number, string>();
  const seen: string[] = [];
  const dirQid: Qid = { type: QTDIR, version: 0, path: 1n };
  const fileQid = (name: string): Qid => ({ type: 0, version: 0, path: BigInt(name.length + 10) });
  const stat = (name: string, data: Uint8Array): Stat => ({
    type: 0, dev: 0, qid: fileQid(name), mode: 0o644, atime: 0, mtime: 0, length: BigInt(data.length),
    name, uid: 'u', gid: 'g', muid: 'u',
  });
  let d: Dialect = '9P2000.L';
  const ch: Channel = new Channel({
    stream: b,
    maxSize: 8192,
    onFrame: (f) => {
      const m = decode(f, d);
      seen.push(m.type);
      const reply = (r: Fcall): void => void ch.send(encode(r, d)).catch(() => {});
      const err = (ename: string, errno?: number): void => reply({ type: 'Rerror', tag: m.tag, ename, errno });
      switch (m.type) {
        case 'Tversion':
          d = dialect;
          return reply({ type: 'Rversion', tag: m.tag, msize: Math.min(m.msize, 8192), version: dialect });
        case 'Tattach':
          fids.set(m.fid, '');
          return reply({ type: 'Rattach', tag: m.tag, qid: dirQid });
        case 'Twalk': {
          const from = fids.get(m.fid);
          if (from === undefined) return err('unknown fid');
          if (m.wnames.length === 0) {
            fids.set(m.newfid, from);
            return reply({ type: 'Rwalk', tag: m.tag, wqids: [] });
          }
          const name = m.wnames[0] ?? '';
          if (from !== '' || !files.has(name)) return err('file does not exist', dialect === '9P2000.u' ? 2 : undefined);
          fids.set(m.newfid, name);
          return reply({ type: 'Rwalk', tag: m.tag, wqids: [fileQid(name)] });
        }
        case 'Topen':
          return reply({ type: 'Ropen', tag: m.tag, qid: fids.get(m.fid) === '' ? dirQid : fileQid(fids.get(m.fid) ?? ''), iounit: 0 });
        case 'Tcreate':
          files.set(m.name, new Uint8Array(0));
          fids.set(m.fid, m.name);
          return reply({ type: 'Rcreate', tag: m.tag, qid: fileQid(m.name), iounit: 0 });
        case 'Tread': {
          const name = fids.get(m.fid) ?? '';
          const all =
            name === ''
              ? Uint8Array.from(Buffer.concat([...files].map(([n, data]) => encodeStat(stat(n, data), d))))
              : (files.get(name) ?? new Uint8Array(0));
          const at = Number(m.offset);
          return reply({ type: 'Rread', tag: m.tag, data: all.slice(at, at + m.count) });
        }
        case 'Twrite': {
          const name = fids.get(m.fid) ?? '';
          const old = files.get(name) ?? new Uint8Array(0);
          const next = new Uint8Array(Math.max(old.length, Number(m.offset) + m.data.length));
          next.set(old);
          next.set(m.data, Number(m.offset));
          files.set(name, next);
          return reply({ type: 'Rwrite', tag: m.tag, count: m.data.length });
        }
        case 'Tclunk':
          fids.delete(m.fid);
          return reply({ type: 'Rclunk', tag: m.tag });
        case 'Tremove':
          files.delete(fids.get(m.fid) ?? '');
          fids.delete(m.fid);
          return reply({ type: 'Rremove', tag: m.tag });
        default:
          return err('unsupported');
      }
    },
  });
  return { stream: a, files, seen };
}

describe.each(['9P2000', '9P2000.u'] as const)('client over %s', (dialect) => {
  it('accepts the downgrade and reads, writes, lists and removes with Topen/Tcreate', async () => {
    const srv = classicServer(dialect);
    const s = await Session.connect({ stream: srv.stream, msize: 8192, version: '9P2000.L' });
    expect(s.dialect).toBe(dialect);
    expect(new TextDecoder().decode(await s.readFile({ path: 'hello' }))).toBe('hello, plan 9');
    await s.writeFile({ path: 'new', data: new Uint8Array(20_000).fill(3) });
    expect(srv.files.get('new')?.length).toBe(20_000);
    expect(srv.seen).toContain('Tcreate');
    const names = (await s.readdir({ path: '' })).map((e) => e.name).sort();
    expect(names).toEqual(['hello', 'new']);
    await s.remove({ path: 'new' });
    expect(srv.files.has('new')).toBe(false);
    const e = await s.readFile({ path: 'nope' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RemoteError);
    expect((e as RemoteError).code).toBe('ENOENT');
    await expect(s.stat({ path: 'hello' })).rejects.toMatchObject({ code: 'EOPNOTSUPP' });
    expect(s.fidsInUse).toBe(1);
    await s.close();
  });
});
