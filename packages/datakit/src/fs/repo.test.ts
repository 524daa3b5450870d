/** Ordering and concurrency of commits, seen from the store's side. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { duplexPair, Session } from '@kitbox/p9p';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatakitFs } from './server.js';

const enc = new TextEncoder();
let dir: string;
let gitdir: string;
let fs: DatakitFs;
const sessions: Session[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'datakit-repo-'));
  gitdir = join(dir, 'repo.git');
  fs = await DatakitFs.open({ gitdir });
});
afterEach(async () => {
  for (const s of sessions.splice(0)) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

async function connect(): Promise<Session> {
  const [a, b] = duplexPair();
  fs.serve(a);
  const s = await Session.connect({ stream: b });
  sessions.push(s);
  return s;
}
const git = (...args: string[]): string => execFileSync('git', ['--git-dir', gitdir, ...args], { encoding: 'utf8' });

describe('commits', () => {
  it('fsync every new object before the branch moves', async () => {
    const store = fs.repo.store;
    const events: string[] = [];
    const synced = new Set<string>();
    const sync = store.syncObjects.bind(store);
    const pack = store.commitBatch.bind(store);
    const update = store.updateBranch.bind(store);
    store.syncObjects = async (oids) => {
      for (const o of oids) synced.add(o);
      events.push('sync');
      return sync(oids);
    };
    // A transaction's objects go into one pack, made durable (fsynced) by commitBatch.
    store.commitBatch = async (commit, batch, parents) => {
      for (const o of batch.objects.keys()) synced.add(o);
      events.push('pack');
      await pack(commit, batch, parents);
      for (const o of batch.loose) synced.add(o);
    };
    store.updateBranch = async (name, expected, next) => {
      events.push(`update ${name}`);
      return update(name, expected, next);
    };
    const s = await connect();
    await s.mkdir({ path: 'branch/master' });
    await s.mkdir({ path: 'branch/master/transactions/t' });
    await s.mkdir({ path: 'branch/master/transactions/t/rw/d' });
    await s.writeFile({ path: 'branch/master/transactions/t/rw/d/f', data: enc.encode('x') });
    await s.symlink({ path: 'branch/master/transactions/t/rw/l', target: 'd/f' });
    await s.writeFile({ path: 'branch/master/transactions/t/ctl', data: enc.encode('commit') });
    expect(events).toEqual(['pack', 'update master']);
    const head = git('rev-parse', 'master').trim();
    // Every object the commit needs was among those synced.
    const needed = git('rev-list', '--objects', head).split('\n').filter((l) => l !== '').map((l) => l.split(' ')[0] ?? '');
    for (const oid of needed) expect(synced.has(oid)).toBe(true);
  });

  it('many connections committing to one branch at once: nothing lost, git consistent', async () => {
    const clients = await Promise.all(Array.from({ length: 5 }, () => connect()));
    await clients[0]?.mkdir({ path: 'branch/master' });
    await Promise.all(
      clients.map(async (s, i) => {
        for (let j = 0; j < 3; j++) {
          const t = `branch/master/transactions/c${i}-${j}`;
          await s.mkdir({ path: t });
          await s.writeFile({ path: `${t}/rw/f-${i}-${j}`, data: enc.encode(`${i}.${j}`) });
          await s.writeFile({ path: `${t}/ctl`, data: enc.encode('commit') });
        }
      }),
    );
    const files = git('ls-tree', '--name-only', 'master').trim().split('\n').sort();
    expect(files).toEqual(Array.from({ length: 15 }, (_, k) => `f-${Math.floor(k / 3)}-${k % 3}`).sort());
    git('fsck', '--strict', '--no-dangling');
  });
});

/** Makes branch master with one commit. */
async function commitOnMaster(s: Session): Promise<void> {
  await s.mkdir({ path: 'branch/master' });
  await s.mkdir({ path: 'branch/master/transactions/t' });
  await s.writeFile({ path: 'branch/master/transactions/t/rw/f', data: enc.encode('x') });
  await s.writeFile({ path: 'branch/master/transactions/t/ctl', data: enc.encode('commit') });
}

/** The store's next ref read finds what is there now, and finishes only when released. */
function holdNextRead(store: DatakitFs['repo']['store']): () => void {
  const read = store.branchHead.bind(store);
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  store.branchHead = async (name) => {
    store.branchHead = read;
    const h = await read(name);
    await held;
    return h;
  };
  return release;
}

describe('heads published to watchers', () => {
  it('a ref read that started before a branch was deleted does not bring its old head back to a new watcher', async () => {
    const s = await connect();
    await commitOnMaster(s);
    const repo = fs.repo;
    // The next ref read finds the old head, and finishes only when let go.
    const release = holdNextRead(repo.store);
    const slow = repo.head('master');
    await repo.deleteBranch('master');
    const w = repo.watch('master');
    expect(w.value).toBeUndefined();
    release();
    // Read again: the branch is gone.
    expect(await slow).toBeUndefined();
    expect(w.value).toBeUndefined();
    expect(await repo.head('master')).toBeUndefined();
  });

  it('a read of another branch in flight across that forgetting still reaches its watcher', async () => {
    const s = await connect();
    await commitOnMaster(s);
    // Made by git, never read by the server yet: nothing published for it.
    const other = git('rev-parse', 'master').trim();
    git('update-ref', 'refs/heads/other', other);
    const repo = fs.repo;
    const release = holdNextRead(repo.store);
    const w = repo.watch('other');
    const slow = repo.head('other');
    await repo.deleteBranch('master');
    release();
    // Published by the time the read answers (headLive's first line relies on it).
    expect(await slow).toBe(other);
    expect(w.value).toBe(other);
  });
});
