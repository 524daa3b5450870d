import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { duplexPair, Session } from '@kitbox/p9p';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DatakitFs } from './server.js';

let dir: string;
let fs: DatakitFs;
let s: Session;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'datakit-stat-'));
  fs = await DatakitFs.open({ gitdir: join(dir, 'repo.git'), fsync: 'never' });
  const [a, b] = duplexPair();
  fs.serve(a);
  s = await Session.connect({ stream: b });
});
afterEach(async () => {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('stat of a stored file', () => {
  it('tells the size in ro/, snapshots/ and trees/ without reading the file (ls -l read every file whole)', async () => {
    const store = fs.repo.store;
    const size = 24 << 20;
    const blob = await store.writeBlob(new Uint8Array(size).fill(0x61));
    const small = await store.writeBlob(new TextEncoder().encode('small\n'));
    const tree = await store.writeTree([
      { mode: '100644', path: 'big', oid: blob, type: 'blob' },
      { mode: '100755', path: 'run', oid: small, type: 'blob' },
    ]);
    const commit = await store.writeCommit({ tree, parents: [], message: 'm', author: { name: 'a', email: 'a@b', timestamp: 1 } });
    await store.updateBranch('master', undefined, commit);
    const reads = vi.spyOn(store, 'readBlob');
    for (const path of ['branch/master/ro/big', `snapshots/${commit}/ro/big`, `trees/F-${blob}`]) {
      expect((await s.stat({ path })).size, path).toBe(BigInt(size));
    }
    expect((await s.stat({ path: 'branch/master/ro/run' })).size).toBe(6n);
    // A transaction's unchanged file: neither read nor kept by a stat.
    await s.mkdir({ path: 'branch/master/transactions/t' });
    expect((await s.stat({ path: 'branch/master/transactions/t/rw/big' })).size).toBe(BigInt(size));
    expect(reads).not.toHaveBeenCalled();
    // Changed, its size is the new one.
    await s.writeFile({ path: 'branch/master/transactions/t/rw/run', data: new TextEncoder().encode('longer now\n') });
    expect((await s.stat({ path: 'branch/master/transactions/t/rw/run' })).size).toBe(11n);
    reads.mockClear();
    // Opening still reads it, and gives the bytes.
    const data = await s.readFile({ path: `trees/X-${small}` });
    expect(new TextDecoder().decode(data)).toBe('small\n');
    expect(reads).toHaveBeenCalledTimes(1);
  });
});

describe('reading unchanged files through rw/', () => {
  it('keeps none of them once their fids are closed (each stayed in memory until the transaction ended)', async () => {
    const v8 = await import('node:v8');
    const vm = await import('node:vm');
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const store = fs.repo.store;
    const size = 16 << 20;
    const entries = [];
    for (let i = 0; i < 10; i++) {
      const oid = await store.writeBlob(new Uint8Array(size).fill(0x30 + i));
      entries.push({ mode: '100644' as const, path: `f${i}`, oid, type: 'blob' as const });
    }
    const tree = await store.writeTree(entries);
    const commit = await store.writeCommit({ tree, parents: [], message: 'm', author: { name: 'a', email: 'a@b', timestamp: 1 } });
    await store.updateBranch('master', undefined, commit);
    await s.mkdir({ path: 'branch/master/transactions/t' });
    gc();
    const base = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 10; i++) {
      const data = await s.readFile({ path: `branch/master/transactions/t/rw/f${i}` });
      expect(data.length).toBe(size);
      expect(data[size - 1]).toBe(0x30 + i);
    }
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 10));
      gc();
    }
    // Held, they would be 160 MiB; what is left is the last few reads' buffers on both sides.
    expect(process.memoryUsage().arrayBuffers - base).toBeLessThan(80 << 20);
    // Still the transaction's files: a write copies, the commit keeps the others as they were.
    await s.writeFile({ path: 'branch/master/transactions/t/rw/f0', data: new TextEncoder().encode('new\n') });
    await s.writeFile({ path: 'branch/master/transactions/t/ctl', data: new TextEncoder().encode('commit') });
    const head = (await store.branchHead('master')) as string;
    const t2 = await store.readTree((await store.readCommit(head)).tree);
    expect(t2.map((e) => e.oid)).toEqual([await store.writeBlob(new TextEncoder().encode('new\n')), ...entries.slice(1).map((e) => e.oid)]);
  });
});
