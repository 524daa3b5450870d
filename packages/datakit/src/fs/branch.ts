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
import type { SharedBudget } from './overlay.js';
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
  /** What all transactions of the server may hold together. */
  sharedBudget?: SharedBudget;
  /** How often a waiting head.live re-reads the ref, for writers outside this server (ms). */
  pollMs: number;
  /** Updates a reflog reader may fall behind before it gets EOVERFLOW (default REFLOG_BACKLOG). */
  reflogBacklog?: number;
}

const line = (h: Oid | undefined): Uint8Array => enc.encode(h === undefined ? '\n' : `${h}\n`);

/**
 * Updates a branch's reflog readers may be behind the newest. Past it the oldest entry goes
 * and a reader that had not read it gets EOVERFLOW at that point of its stream (after every
 * line before it): a gap is reported, never skipped silently.
 */
const REFLOG_BACKLOG = 10_000;

/**
 * One log per branch shared by its open reflog streams, each with its own position: memory
 * is the backlog, not the backlog times the readers.
 */
interface ReflogShare {
  entries: (Oid | undefined)[];
  /** Index in `entries` of the oldest entry kept. */
  head: number;
  /** Sequence number of entries[head]. */
  first: number;
  readonly readers: Set<{ pos: number }>;
  readonly wakers: Set<() => void>;
  readonly backlog: number;
  off: () => void;
}
const reflogShares = new WeakMap<Repo, Map<string, ReflogShare>>();

function reflogShare(repo: Repo, name: string, backlog: number): ReflogShare {
  let byName = reflogShares.get(repo);
  if (byName === undefined) reflogShares.set(repo, (byName = new Map()));
  let share = byName.get(name);
  if (share !== undefined) return share;
  const sh: ReflogShare = { entries: [], head: 0, first: 0, readers: new Set(), wakers: new Set(), backlog, off: () => undefined };
  sh.off = repo.watch(name).subscribe((h) => {
    sh.entries.push(h);
    trimReflog(sh);
    for (const w of [...sh.wakers]) w();
  });
  byName.set(name, sh);
  share = sh;
  return share;
}

/**
 * Drops what every reader has read, then what is past the backlog. Entries before `head` are
 * dropped ones; the array is compacted only once they are half of it, so a reader catching up
 * on a long backlog does not copy it at every line.
 */
function trimReflog(sh: ReflogShare): void {
  const kept = sh.entries.length - sh.head;
  let min = sh.first + kept;
  for (const r of sh.readers) if (r.pos < min) min = r.pos;
  const drop = Math.min(Math.max(min - sh.first, kept - sh.backlog, 0), kept);
  if (drop === 0) return;
  sh.head += drop;
  sh.first += drop;
  if (sh.head > 1024 && sh.head * 2 > sh.entries.length) {
    sh.entries = sh.entries.slice(sh.head);
    sh.head = 0;
  }
}

/** The entry with sequence number `pos` (first <= pos < first + kept). */
function reflogAt(sh: ReflogShare, pos: number): Oid | undefined {
  return sh.entries[sh.head + pos - sh.first];
}

/** Sequence number after the newest entry. */
function reflogEnd(sh: ReflogShare): number {
  return sh.first + sh.entries.length - sh.head;
}

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
    // Held for the stream's life, so the repository keeps this Watchable (it forgets idle ones).
    const off = w.subscribe(() => undefined);
    // Read git now: the first line is the head of the moment.
    let last: Oid | undefined | null = null;
    try {
      await repo.head(name);
    } catch (err) {
      off();
      throw err;
    }
    return {
      close: off,
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
  const sh = reflogShare(repo, name, ctx.reflogBacklog ?? REFLOG_BACKLOG);
  const me = { pos: reflogEnd(sh) };
  sh.readers.add(me);
  return Promise.resolve({
    next: async (signal: AbortSignal) => {
      while (me.pos >= reflogEnd(sh)) {
        // Woken by this server's updates, or by a poll that notices another writer's.
        const stop = new AbortController();
        const both = AbortSignal.any([signal, stop.signal]);
        let wake: (() => void) | undefined;
        try {
          await Promise.race([
            waitFor(both, (w) => {
              wake = w;
              sh.wakers.add(w);
              return () => sh.wakers.delete(w);
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
          if (wake !== undefined) sh.wakers.delete(wake);
        }
      }
      if (me.pos < sh.first) {
        throw new FsError('EOVERFLOW', `This reader fell more than ${sh.backlog} updates behind: ${sh.first - me.pos} were not kept for it; open reflog again`);
      }
      const h = reflogAt(sh, me.pos);
      me.pos++;
      trimReflog(sh);
      return line(h);
    },
    close: () => {
      sh.readers.delete(me);
      if (sh.readers.size > 0) return;
      sh.off();
      reflogShares.get(repo)?.delete(name);
    },
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
    new TransactionsDir(repo, name, ctx.transactions(name), ctx.connKey, {
      ...(ctx.maxTransactionBytes === undefined ? {} : { maxBytes: ctx.maxTransactionBytes }),
      ...(ctx.sharedBudget === undefined ? {} : { shared: ctx.sharedBudget }),
    }),
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

/**
 * A branch made through /branch is one directory: git would take "a/b" (refs/heads/a/b),
 * but the tree cannot show it (it is neither a/ nor a name in it) and branch "a" could then
 * never be written (refs/heads/a is a directory).
 */
function oneLevel(name: string): void {
  if (name.includes('/')) throw new FsError('EINVAL', `Invalid branch name ${JSON.stringify(name)}: '/' is not allowed here`);
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
      oneLevel(name);
      await repo.createBranch(name);
      return branchDir(ctx, name);
    },
    create: () => Promise.reject(dirOnly()),
    async unlink(name: string, dir: boolean): Promise<void> {
      if (!dir) throw new FsError('EISDIR', 'Is a directory');
      await repo.deleteBranch(name);
      const txs = ctx.transactions(name);
      for (const t of [...txs.values()]) t.close();
      txs.clear();
    },
    async rename(oldName: string, newDir: Node, newName: string): Promise<void> {
      if (newDir.key !== 'branch') throw readOnlyDir();
      oneLevel(newName);
      await repo.renameBranch(oldName, newName);
    },
  };
}
