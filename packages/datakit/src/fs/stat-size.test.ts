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
