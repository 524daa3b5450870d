// The Session's `pipeline` option against p9p's server (which orders requests per fid):
// MemoryFs and LocalFs over an in-memory pair.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERRNO } from '../channel/errno.js';
import { AbortError, RemoteError } from '../channel/errors.js';
import { duplexPair } from '../channel/pair.js';
import { LocalFs } from '../handlers/local.js';
import { MemoryFs } from '../handlers/memory.js';
import type { MemoryFid } from '../handlers/memory.js';
import type { Handler } from '../server/handler.js';
import { serve } from '../server/serve.js';
import type { ServerConnection } from '../server/serve.js';
import { Session } from './session.js';

async function pipelined(handler: Handler<unknown>, msize = 8192): Promise<{ s: Session; conn: ServerConnection }> {
  const [a, b] = duplexPair();
  const conn = serve({ stream: b, handler });
  const s = await Session.connect({ stream: a, msize, uname: 'u', nUname: 1000, pipeline: true });
  return { s, conn };
}

const code = (p: Promise<unknown>): Promise<string> => p.then(
  () => 'ok',
  (e: unknown) => (e instanceof AbortError ? 'abort' : ((e as { code?: string }).code ?? String(e))),
);
const text = (d: Uint8Array): string => new TextDecoder().decode(d);

/** MemoryFs whose walk takes `ms` (async), counting the requests in flight when it starts. */
function slowWalk(fs: MemoryFs, ms: number): { handler: Handler<unknown>; seen: number[]; conn?: ServerConnection } {
  const out: { handler: Handler<unknown>; seen: number[]; conn?: ServerConnection } = { handler: fs as Handler<unknown>, seen: [] };
  out.handler = Object.assign(Object.create(fs) as MemoryFs, {
    async walk(n: MemoryFid, names: readonly string[]) {
      await new Promise((r) => setTimeout(r, ms));
      out.seen.push(out.conn?.inFlight ?? -1);
      return fs.walk(n, names);
    },
  }) as Handler<unknown>;
  return out;
}

describe('Session({ pipeline: true }) against serve()', () => {
  it('every helper works, and each sends its whole sequence before the first reply', async () => {
    const fs = new MemoryFs();
    const slow = slowWalk(fs, 5);
    const { s, conn } = await pipelined(slow.handler);
    slow.conn = conn;
    const data = new Uint8Array(30_000).map((_, i) => i % 251);
    await s.mkdir({ path: 'd' });
    await s.writeFile({ path: 'd/f', data });
    // walk, Tlcreate, four Twrites (8192 - 24 bytes each), Tclunk: all in flight when the walk ran.
    expect(slow.seen.slice(-1)).toEqual([7]);
    expect(Buffer.compare(Buffer.from(fs.lookup('d/f')?.kind === 'file' ? (fs.lookup('d/f') as { data: Uint8Array }).data : []), Buffer.from(data))).toBe(0);
    await s.writeFile({ path: 'd/f', data: new TextEncoder().encode('short') });
    expect(text(await s.readFile({ path: 'd/f' }))).toBe('short');
    // walk, Tlopen, two Treads, Tclunk.
    expect(slow.seen.slice(-1)).toEqual([5]);
    expect(text(await s.readFile({ path: 'd/f', maxBytes: 5 }))).toBe('short');
    expect(await code(s.readFile({ path: 'd/f', maxBytes: 4 }))).toBe('EFBIG');
    await s.writeFile({ path: 'd/empty', data: new Uint8Array(0) });
    expect((await s.readFile({ path: 'd/empty' })).length).toBe(0);
    await s.writeFile({ path: 'd/big', data });
    expect(Buffer.compare(Buffer.from(await s.readFile({ path: 'd/big' })), Buffer.from(data))).toBe(0);
    expect((await s.stat({ path: 'd/f' })).size).toBe(5n);
    await s.setattr({ path: 'd/f', mode: 0o600 });
    expect((await s.stat({ path: 'd/f' })).mode & 0o777).toBe(0o600);
    await s.symlink({ path: 'd/l', target: 'f' });
    expect(await s.readlink({ path: 'd/l' })).toBe('f');
    expect((await s.statfs({ path: 'd' })).bsize).toBe(4096);
    for (const p of ['d/l', 'd/f', 'd/empty', 'd/big', 'd']) await s.remove({ path: p });
    expect(fs.lookup('d')).toBeUndefined();
    expect(s.fidsInUse).toBe(1);
    expect(conn.fidCount).toBe(1);
    await s.close();
    await conn.done;
    expect(conn.fidCount).toBe(0);
  });

  it('a failure anywhere in the sequence is reported as the first failing reply, and no fid is left on either side', async () => {
    const fs = new MemoryFs();
    fs.writeFile('d/x', 'x');
    const { s, conn } = await pipelined(slowWalk(fs, 2).handler);
    // The walk fails: everything after it is EBADF, the walk's ENOENT is what the caller sees.
    expect(await code(s.writeFile({ path: 'none/f', data: new Uint8Array(10) }))).toBe('ENOENT');
    expect(await code(s.stat({ path: 'd/none' }))).toBe('ENOENT');
    expect(await code(s.readFile({ path: 'd/x/y' }))).toBe('ENOENT');
    expect(await code(s.remove({ path: 'none' }))).toBe('ENOENT');
    // The walk succeeds, the next step fails: its error, and the fid is still clunked.
    expect(await code(s.writeFile({ path: 'd', data: new Uint8Array(10) }))).toBe('EISDIR');
    expect(await code(s.readFile({ path: 'd' }))).toBe('EISDIR');
    expect(await code(s.mkdir({ path: 'd' }))).toBe('EEXIST');
    expect(await code(s.remove({ path: 'd' }))).toBe('ENOTEMPTY');
    expect(await code(s.readlink({ path: 'd/x' }))).toBe('EINVAL');
    expect(fs.lookup('d/x')?.kind).toBe('file');
    expect(s.fidsInUse).toBe(1);
    expect(conn.fidCount).toBe(1);
    expect(s.inFlight).toBe(0);
    await s.close();
  });

  it('an abort mid-sequence: AbortError or the completed result, and the fid table empty afterwards', async () => {
    const fs = new MemoryFs();
    const { s, conn } = await pipelined(slowWalk(fs, 20).handler);
    const ac = new AbortController();
    const p = s.writeFile({ path: 'f', data: new Uint8Array(100), signal: ac.signal });
    setTimeout(() => ac.abort(), 5);
    expect(['abort', 'ok']).toContain(await code(p));
    await new Promise((r) => setTimeout(r, 50));
    expect(s.fidsInUse).toBe(1);
    expect(conn.fidCount).toBe(1);
    expect(s.inFlight).toBe(0);
    await s.close();
  });

  it('LocalFs: writeFile creates or truncates, with the mode asked for when it creates', async () => {
    const root = mkdtempSync(join(tmpdir(), 'p9p-pipe-'));
    try {
      const local = new LocalFs({ root });
      const { s, conn } = await pipelined(local as Handler<unknown>, 65536);
      await s.mkdir({ path: 'a', mode: 0o750 });
      await s.writeFile({ path: 'a/new', data: new TextEncoder().encode('first version'), mode: 0o640 });
      expect(statSync(join(root, 'a/new')).mode & 0o777).toBe(0o640);
      writeFileSync(join(root, 'a/old'), 'a longer existing content');
      await s.writeFile({ path: 'a/old', data: new TextEncoder().encode('new') });
      expect(readFileSync(join(root, 'a/old'), 'utf8')).toBe('new');
      expect(text(await s.readFile({ path: 'a/new' }))).toBe('first version');
      await s.remove({ path: 'a/new' });
      expect(s.fidsInUse).toBe(1);
      expect(conn.fidCount).toBe(1);
      expect(local.openFiles).toBe(0);
      await s.close();
      await conn.done;
      local.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a server like datakit (no create over an existing file, EINVAL past the end): writeFile opens what exists, readFile falls back', async () => {
    const fs = new MemoryFs();
    fs.writeFile('ctl', '');
    let creates = 0;
    const handler = Object.assign(Object.create(fs) as MemoryFs, {
      lcreate(dir: MemoryFid, req: { name: string; flags: number; mode: number }) {
        creates++;
        if (fs.lookup(req.name) !== undefined) throw new RemoteError(ERRNO.EINVAL, 'cannot create over a control file');
        return fs.lcreate(dir, req);
      },
      read(fid: MemoryFid, offset: bigint, count: number) {
        const n = fid.node;
        if (n.kind === 'file' && offset > BigInt(n.size)) throw new RemoteError(ERRNO.EINVAL, 'Offset beyond end-of-file');
        return fs.read(fid, offset, count);
      },
    }) as Handler<unknown>;
    const { s } = await pipelined(handler);
    await s.writeFile({ path: 'ctl', data: new TextEncoder().encode('commit') });
    expect(creates).toBe(0);
    expect(text(await s.readFile({ path: 'ctl' }))).toBe('commit');
    await s.writeFile({ path: 'new', data: new TextEncoder().encode('made') });
    expect(creates).toBe(1);
    expect(text(await s.readFile({ path: 'new' }))).toBe('made');
    expect(await code(s.readFile({ path: 'missing' }))).toBe('ENOENT');
    await s.close();
  });
});
