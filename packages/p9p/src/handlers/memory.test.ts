// MemoryFs as a Handler, called directly (the server tests drive it over 9P).
import { describe, expect, it } from 'vitest';
import { P9_DOTL_AT_REMOVEDIR, P9_DOTL_RDONLY, P9_DOTL_WRONLY, P9_DOTL_EXCL, P9_SETATTR_SIZE, QTDIR, QTSYMLINK } from '../codec/constants.js';
import { RemoteError } from '../channel/errors.js';
import { MemoryFs } from './memory.js';

const ctx = { signal: new AbortController().signal, uname: 'u', nUname: 0 };
const code = (f: () => unknown): string => {
  try {
    f();
    return 'ok';
  } catch (e) {
    return e instanceof RemoteError ? e.code : String(e);
  }
};

describe('MemoryFs', () => {
  it('walks, with partial walks and ..', () => {
    const fs = new MemoryFs({ now: () => 1_000 });
    fs.writeFile('a/b/c', 'x');
    const root = fs.attach().node;
    const full = fs.walk(root, ['a', 'b', 'c']);
    expect(full.qids.map((q) => q.type)).toEqual([QTDIR, QTDIR, 0]);
    expect(full.node).toBeDefined();
    const part = fs.walk(root, ['a', 'zz']);
    expect(part.qids.length).toBe(1);
    expect(part.node).toBeUndefined();
    expect(code(() => fs.walk(root, ['zz']))).toBe('ENOENT');
    expect(fs.walk(root, ['..', 'a', '..']).qids.at(-1)?.path).toBe(fs.attach().qid.path);
    expect(code(() => fs.walk(full.node!, ['x']))).toBe('ENOTDIR');
  });

  it('a file removed while open gives its bytes back and cannot take them again', () => {
    const fs = new MemoryFs({ maxBytes: 100 });
    const root = fs.attach().node;
    const f = fs.lcreate(root, { name: 'f', flags: P9_DOTL_WRONLY, mode: 0o600 }).node;
    expect(fs.write(f, 0n, new Uint8Array(60))).toBe(60);
    fs.unlinkat(root, 'f', 0);
    expect(fs.usage.bytes).toBe(0);
    // Before the fix these 60 bytes were charged to the tree for good: it was full with no file in it.
    expect(code(() => fs.write(f, 0n, new Uint8Array(60)))).toBe('ENOENT');
    expect(code(() => fs.setattr(f, { valid: P9_SETATTR_SIZE, mode: 0, uid: 0, gid: 0, size: 60n, atimeSec: 0n, atimeNsec: 0n, mtimeSec: 0n, mtimeNsec: 0n }))).toBe('ENOENT');
    expect(fs.usage.bytes).toBe(0);
    const g = fs.lcreate(root, { name: 'g', flags: P9_DOTL_WRONLY, mode: 0o600 }).node;
    expect(fs.write(g, 0n, new Uint8Array(100))).toBe(100);
  });

  it('enforces open modes, sizes and node limits', () => {
    const fs = new MemoryFs({ maxBytes: 100, maxNodes: 4 });
    const root = fs.attach().node;
    const f = fs.lcreate(root, { name: 'f', flags: P9_DOTL_WRONLY, mode: 0o600 }).node;
    expect(fs.write(f, 0n, new Uint8Array(10))).toBe(10);
    expect(code(() => fs.read(f, 0n, 10))).toBe('EBADF');
    expect(code(() => fs.lcreate(root, { name: 'f', flags: P9_DOTL_WRONLY | P9_DOTL_EXCL, mode: 0 }))).toBe('EEXIST');
    const r = fs.lopen(fs.walk(root, ['f']).node!, P9_DOTL_RDONLY).node;
    expect(code(() => fs.write(r, 0n, new Uint8Array(1)))).toBe('EBADF');
    expect(code(() => fs.write(f, 95n, new Uint8Array(10)))).toBe('EFBIG');
    expect(code(() => fs.setattr(f, { valid: P9_SETATTR_SIZE, mode: 0, uid: 0, gid: 0, size: 101n, atimeSec: 0n, atimeNsec: 0n, mtimeSec: 0n, mtimeNsec: 0n }))).toBe('EFBIG');
    fs.mkdir(root, { name: 'd', mode: 0o755 });
    fs.symlink(root, { name: 'l', target: 'f' });
    expect(code(() => fs.mkdir(root, { name: 'e', mode: 0o755 }))).toBe('ENOSPC');
    expect(code(() => fs.mkdir(root, { name: 'a/b', mode: 0o755 }))).toBe('EINVAL');
    expect(fs.walk(root, ['l']).qids[0]?.type).toBe(QTSYMLINK);
    expect(fs.usage).toEqual({ nodes: 4, bytes: 10 });
    fs.unlinkat(root, 'f', 0);
    expect(fs.usage).toEqual({ nodes: 3, bytes: 0 });
    expect(code(() => fs.unlinkat(root, 'd', 0))).toBe('EISDIR');
    fs.unlinkat(root, 'd', P9_DOTL_AT_REMOVEDIR);
    expect(fs.statfs().ffree).toBe(2n);
  });

  it('renames, refusing to move a directory into itself', () => {
    const fs = new MemoryFs();
    fs.writeFile('a/b/c', 'x');
    const root = fs.attach().node;
    const a = fs.walk(root, ['a']).node!;
    const b = fs.walk(root, ['a', 'b']).node!;
    expect(code(() => fs.renameat(root, 'a', b, 'x'))).toBe('EINVAL');
    fs.renameat(a, 'b', root, 'b2');
    expect(fs.lookup('b2/c')).toEqual({ kind: 'file', data: new TextEncoder().encode('x') });
    fs.rename(fs.walk(root, ['b2', 'c']).node!, a, 'c2');
    expect(fs.lookup('a')).toEqual({ kind: 'dir', names: ['c2'] });
    void ctx;
  });

  it('lists directories with resumable cookies', () => {
    const fs = new MemoryFs();
    for (let i = 0; i < 5; i++) fs.writeFile(`f${i}`, '');
    const dir = fs.lopen(fs.attach().node, P9_DOTL_RDONLY).node;
    const first = fs.readdir(dir, 0n).slice(0, 3);
    expect(first.map((d) => d.name)).toEqual(['.', '..', 'f0']);
    const rest = fs.readdir(dir, first[2]!.offset);
    expect(rest.map((d) => d.name)).toEqual(['f1', 'f2', 'f3', 'f4']);
    expect(fs.readdir(dir, 1000n)).toEqual([]);
  });
});
