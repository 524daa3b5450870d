/**
 * `/branch/` and `/branch/<name>/`: datakit datakit.ml `branch_dir` and `branch`.
 *
 *   mkdir branch/<name>      creates the branch (empty until its first commit)
 *   rmdir branch/<name>      deletes it
 *   mv branch/a branch/b     renames it
 *   <name>/head              "<commit>\n", "\n" for an empty branch
 *   <name>/head.live         the head, then each new head; a slow reader skips to the latest
 *   <name>/reflog            each update from now on ("\n": deleted), none skipped
 *   <name>/fast-forward      write a commit id: "not-fast-forward", "invalid-hash ..."
 *   <name>/ro/               the head's tree, read-only
 *   <name>/watch/            tree.live streams per path (see tree-watch.ts)
 *   <name>/transactions/     see transaction.ts
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Oid } from '../store/store.js';
import { dirOnly, FsError, noEntry, readOnlyDir } from './errors.js';
import { CommandFile } from './command.js';
import type { Node, Stat } from './node.js';
import { enc, StatusFile } from './node.js';
import type { Repo } from './repo.js';
import type { StreamSource } from './stream.js';
import { StreamFile } from './stream.js';
import type { Transaction } from './transaction.js';
import { TransactionsDir } from './transaction.js';
import { RoDir } from './tree-ro.js';
import { watchDir } from './tree-watch.js';
import { waitFor } from './watch.js';

/** Per-connection state the branch directories need. */
export interface BranchContext {
  repo: Repo;
  /** This connection's transactions, by branch then name. */
  transactions(branch: string): Map<string, Transaction>;
  /** Distinguishes this connection's transaction nodes from another's. */
  connKey: string;
  maxTransactionBytes: number | undefined;
  /** How often a waiting head.live re-reads the ref, for writers outside this server (ms). */
  pollMs: number;
}

const line = (h: Oid | undefined): Uint8Array => enc.encode(h === undefined ? '\n' : `${h}\n`);

/** Most reflog entries kept for one slow reader before the oldest are dropped. */
const REFLOG_BACKLOG = 10_000;

/**
 * Waits for the head to change: woken at once by this server's own updates, and by
 * re-reading the ref every `pollMs` for writers outside it (the git CLI).
 */
async function headChanged(repo: Repo, name: string, since: number, signal: AbortSignal, pollMs: number): Promise<void> {
  const w = repo.watch(name);
  const stop = new AbortController();
  const both = AbortSignal.any([signal, stop.signal]);
  try {
    await Promise.race([
      w.changed(since, both),
      (async () => {
        while (w.version === since) {
          await sleep(pollMs, undefined, { signal: both });
          await repo.head(name);
        }
      })(),
    ]);
  } catch (err) {
    if (signal.aborted) throw err;
  } finally {
    stop.abort();
  }
}

function headLive(ctx: BranchContext, name: string): Promise<StreamSource> {
  const { repo } = ctx;
  return (async () => {
    const w = repo.watch(name);
    // Read git now: the first line is the head of the moment.
    let last: Oid | undefined | null = null;
    await repo.head(name);
    return {
      next: async (signal: AbortSignal) => {
        for (;;) {
          const v = w.version;
          if (last === null || w.value !== last) {
            last = w.value;
            return line(last);
          }
          await headChanged(repo, name, v, signal, ctx.pollMs);
        }
      },
    };
  })();
}

function reflog(ctx: BranchContext, name: string): Promise<StreamSource> {
  const { repo } = ctx;
  const queue: (Oid | undefined)[] = [];
  let wake: (() => void) | undefined;
  const off = repo.watch(name).subscribe((h) => {
    queue.push(h);
    if (queue.length > REFLOG_BACKLOG) queue.shift();
    wake?.();
  });
  return Promise.resolve({
    next: async (signal: AbortSignal) => {
      while (queue.length === 0) {
        // Woken by this server's updates, or by a poll that notices another writer's.
        const stop = new AbortController();
        const both = AbortSignal.any([signal, stop.signal]);
        try {
          await Promise.race([
            waitFor(both, (w) => {
              wake = w;
              return () => (wake = undefined);
            }),
            (async () => {
              for (;;) {
                await sleep(ctx.pollMs, undefined, { signal: both });
                await repo.head(name);
              }
            })(),
          ]);
        } catch (err) {
          if (signal.aborted) throw err;
        } finally {
          stop.abort();
          wake = undefined;
        }
      }
      return line(queue.shift());
    },
    close: off,
  });
}

export function branchDir(ctx: BranchContext, name: string): Node {
  const { repo } = ctx;
  const key = `branch/${name}`;
  const rootTree = async (): Promise<Oid | undefined> => {
    const h = await repo.head(name);
    return h === undefined ? undefined : (await repo.store.readCommit(h)).tree;
  };
  const children = (): Node[] => [
    new RoDir(repo.store, rootTree, `${key}/ro`, []),
    new TransactionsDir(repo, name, ctx.transactions(name), ctx.connKey, ctx.maxTransactionBytes),
    new StreamFile('head.live', `${key}/head.live`, () => headLive(ctx, name)),
    watchDir(repo, name, [], (since, signal) => headChanged(repo, name, since, signal, ctx.pollMs)),
    new CommandFile('fast-forward', `${key}/fast-forward`, async (hash) => {
      await repo.fastForward(name, hash);
      return '';
    }),
    new StreamFile('reflog', `${key}/reflog`, () => reflog(ctx, name)),
    new StatusFile('head', `${key}/head`, async () => line(await repo.head(name))),
  ];
  const gone = (): Promise<never> => Promise.reject(noEntry(name));
  return {
    kind: 'dir',
    name,
    key,
    async stat(): Promise<Stat> {
      if (!(await repo.exists(name))) return gone();
      return { size: 0, perm: 0o755 };
    },
    async lookup(n: string): Promise<Node> {
      if (!(await repo.exists(name))) return gone();
      const c = children().find((x) => x.name === n);
      if (c === undefined) throw noEntry(n);
      return c;
    },
    async list(): Promise<readonly Node[]> {
      if (!(await repo.exists(name))) return gone();
      return children();
    },
    mkdir: () => Promise.reject(readOnlyDir()),
    create: () => Promise.reject(readOnlyDir()),
    unlink: () => Promise.reject(readOnlyDir()),
    rename: () => Promise.reject(readOnlyDir()),
  };
}

export function branchesDir(ctx: BranchContext): Node {
  const { repo } = ctx;
  return {
    kind: 'dir',
    name: 'branch',
    key: 'branch',
    stat: () => Promise.resolve({ size: 0, perm: 0o755 }),
    async lookup(name: string): Promise<Node> {
      if (!(await repo.exists(name))) throw noEntry(name);
      return branchDir(ctx, name);
    },
    async list(): Promise<readonly Node[]> {
      return (await repo.branches()).map((n) => branchDir(ctx, n));
    },
    async mkdir(name: string): Promise<Node> {
      await repo.createBranch(name);
      return branchDir(ctx, name);
    },
    create: () => Promise.reject(dirOnly()),
    async unlink(name: string, dir: boolean): Promise<void> {
      if (!dir) throw new FsError('EISDIR', 'Is a directory');
      await repo.deleteBranch(name);
      ctx.transactions(name).clear();
    },
    async rename(oldName: string, newDir: Node, newName: string): Promise<void> {
      if (newDir.key !== 'branch') throw readOnlyDir();
      await repo.renameBranch(oldName, newName);
    },
  };
}
