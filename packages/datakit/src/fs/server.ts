/**
 * The datakit filesystem over a Store: one shared `Repo`, one `DatakitConnection`
 * (a p9p Handler) per 9P connection.
 *
 * datakit 9p.md: the root holds `branch/ trees/ commits/ snapshots/ remotes/ debug/`
 * (this `debug/` holds counters, not datakit's log levels: see debug.ts).
 */
import type { Duplex } from 'node:stream';
import { serve } from '@kitbox/p9p';
import type { ServerConnection } from '@kitbox/p9p';
import type { FsyncMode } from '../store/store.js';
import { Store } from '../store/store.js';
import { branchesDir } from './branch.js';
import { debugDir } from './debug.js';
import { DatakitConnection } from './handler.js';
import type { Node } from './node.js';
import { StaticDir } from './node.js';
import { commitsDir, snapshotsDir, treesDir } from './objects.js';
import { Repo } from './repo.js';
import type { Fetcher } from './fetch.js';
import { gitFetcher } from './fetch.js';
import { SharedBudget } from './overlay.js';
import { remotesDir } from './remotes.js';
import type { Transaction } from './transaction.js';

export interface DatakitFsOptions {
  store: Store;
  /** Author and committer of commits (default `datakit <datakit@mobyproject.org>`). */
  author?: { name: string; email: string };
  /** Most bytes of changed file contents one transaction holds in memory (default 256 MiB). */
  maxTransactionBytes?: number;
  /** Changed bytes all open transactions of all connections may hold together (default 1 GiB); past it ENOSPC. */
  maxTotalTransactionBytes?: number;
  /** Where unexpected errors (answered EIO) are reported (default: nowhere). */
  log?: (message: string) => void;
  /** Clock in ms for commit times (default Date.now). */
  now?: () => number;
  /**
   * How often a blocked `head.live` read re-reads its branch for changes made outside
   * this server, e.g. by the git CLI (ms, default 1000). This server's own commits wake
   * readers at once.
   */
  pollMs?: number;
  /** Updates a reflog reader may fall behind before its stream fails with EOVERFLOW (default 10,000). */
  reflogBacklog?: number;
  /** How `remotes/<r>/fetch` fetches (default: the git CLI, see fetch.ts). */
  fetcher?: Fetcher;
}

let nextConnection = 1;

export class DatakitFs {
  readonly repo: Repo;
  private readonly opts: DatakitFsOptions;
  private readonly fetcher: Fetcher;
  /** Changed bytes held by every open transaction of every connection. */
  readonly budget: SharedBudget;
  /** Each open connection's transactions, by branch (for debug/stats). */
  private readonly open = new Set<Map<string, Map<string, Transaction>>>();
  private served = 0;
  private readonly started = performance.now();
  private readonly debug: Node;

  constructor(opts: DatakitFsOptions) {
    this.opts = opts;
    this.repo = new Repo({
      store: opts.store,
      ...(opts.author === undefined ? {} : { author: opts.author }),
      ...(opts.now === undefined ? {} : { now: opts.now }),
    });
    // One fetcher for every connection: its bound on concurrent git processes is the server's.
    this.fetcher = opts.fetcher ?? gitFetcher();
    this.budget = new SharedBudget(opts.maxTotalTransactionBytes ?? 1024 * 1024 * 1024);
    this.debug = debugDir({
      connections: () => this.open.size,
      connectionsTotal: () => this.served,
      transactions: () => {
        let n = 0;
        for (const byBranch of this.open) for (const m of byBranch.values()) n += m.size;
        return n;
      },
      commits: () => this.repo.stats.commits,
      branchUpdates: () => this.repo.stats.branchUpdates,
      uptime: () => (performance.now() - this.started) / 1000,
      fsyncs: () => opts.store.fsyncs,
    });
  }

  /**
   * Opens (creating if needed) the bare repository `gitdir` and serves it. `fsync`:
   * `'always'` (default: a commit is acknowledged once its objects and ref are on disk)
   * or `'never'` (see Store's `FsyncMode`).
   *
   * @example
   * const fs = await DatakitFs.open({ gitdir: '/var/lib/kitbox/state.git' });
   * await listen({ address: 'unix!/run/datakit.sock', onConnection: (s) => fs.serve(s) });
   */
  static async open(opts: Omit<DatakitFsOptions, 'store'> & { gitdir: string; fsync?: FsyncMode }): Promise<DatakitFs> {
    const { gitdir, fsync, ...rest } = opts;
    return new DatakitFs({ ...rest, store: await Store.open({ gitdir, ...(fsync === undefined ? {} : { fsync }) }) });
  }

  /** A Handler for one 9P connection; call `close()` on it when the connection ends. */
  connection(): DatakitConnection {
    const connKey = `conn${nextConnection++}`;
    const txs = new Map<string, Map<string, Transaction>>();
    this.open.add(txs);
    this.served++;
    const transactions = (branch: string): Map<string, Transaction> => {
      let m = txs.get(branch);
      if (m === undefined) {
        m = new Map();
        txs.set(branch, m);
      }
      return m;
    };
    const ctx = {
      repo: this.repo,
      transactions,
      connKey,
      maxTransactionBytes: this.opts.maxTransactionBytes,
      sharedBudget: this.budget,
      pollMs: this.opts.pollMs ?? 1000,
      ...(this.opts.reflogBacklog !== undefined ? { reflogBacklog: this.opts.reflogBacklog } : {}),
    };
    const children: Node[] = [
      branchesDir(ctx),
      treesDir(this.repo),
      commitsDir(this.repo),
      snapshotsDir(this.repo),
      remotesDir(this.repo, this.fetcher, connKey),
      this.debug,
    ];
    return new DatakitConnection({
      root: new StaticDir('', '', () => children),
      onClose: () => {
        // Closed, not only forgotten: their bytes go back to the server's budget.
        for (const byName of txs.values()) for (const t of [...byName.values()]) t.close();
        txs.clear();
        this.open.delete(txs);
      },
      onRequest: () => this.repo.requestStarted(),
      ...(this.opts.log === undefined ? {} : { log: this.opts.log }),
    });
  }

  /**
   * Serves 9P2000.L on `stream` (a socket, or one end of duplexPair()) until it ends.
   *
   * @example
   * const [a, b] = duplexPair();
   * fs.serve(a);
   * const session = await Session.connect({ stream: b });
   */
  serve(stream: Duplex, opts: { msize?: number } = {}): ServerConnection {
    const handler = this.connection();
    const conn = serve({ stream, handler, ...(opts.msize === undefined ? {} : { msize: opts.msize }) });
    void conn.done.then(() => handler.close());
    return conn;
  }
}
