/**
 * A datakit client over 9P: branches, transactions, head watches and snapshots as
 * method calls on a p9p `Session` (after moby/datakit's client API: `branch`,
 * `transaction`, `create_file`, `commit`, `fast_forward`, `wait_for_head`).
 *
 * Command files answer errors with an errno only (9P2000.L); the client reads datakit's
 * text back from the same fid, so a failed `commit()` throws a DatakitError whose
 * `message` is datakit's (`Merge conflict: ...`) and whose `code` is the errno name.
 */
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { dial, P9_DOTL_RDONLY, P9_DOTL_RDWR, RemoteError, Session } from '@kitbox/p9p';
import { DatakitError } from '../errors.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Writes `command` to a control file and returns its answer, or throws datakit's error text. */
async function command(s: Session, path: string, cmd: string): Promise<string> {
  const f = await s.open({ path, flags: P9_DOTL_RDWR });
  try {
    try {
      await f.write({ offset: 0, data: enc.encode(cmd) });
    } catch (err) {
      if (!(err instanceof RemoteError)) throw err;
      const why = dec.decode(await f.read({ offset: 0, count: 4096 }).catch(() => new Uint8Array(0))).trim();
      throw new DatakitError(err.code, why === '' ? err.message : why, { path, command: cmd });
    }
    return dec.decode(await f.read({ offset: 0, count: 4096 }));
  } finally {
    await f.close().catch(() => undefined);
  }
}

/**
 * A path inside a tree (rw/, ro/, a snapshot), as names joined by '/'. Empty components
 * ('a//b', a leading or trailing '/') are dropped; '.' and '..' are refused: the path is
 * walked on the server as given, and '..' would leave the tree (rw/../../../branch/x names
 * another branch). EINVAL for those, and for a path with no name at all.
 */
function treePath(path: string): string {
  const names = path.split('/').filter((n) => n !== '');
  for (const n of names) {
    if (n === '.' || n === '..') throw new DatakitError('EINVAL', `Bad path ${JSON.stringify(path)}: '.' and '..' are not allowed`, { path });
    if (n.includes('\0')) throw new DatakitError('EINVAL', `Bad path ${JSON.stringify(path)}: NUL in a name`, { path });
  }
  if (names.length === 0) throw new DatakitError('EINVAL', 'Empty path', { path });
  return names.join('/');
}

/** A single name (a branch, a transaction, a commit id): not empty, no '/', not '.' or '..', no NUL. */
function oneName(kind: string, name: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new DatakitError('EINVAL', `Bad ${kind} name ${JSON.stringify(name)}`, { path: name });
  }
  return name;
}

function mapErr(err: unknown): never {
  if (err instanceof RemoteError) throw new DatakitError(err.code, err.message);
  throw err;
}

async function mkdirs(s: Session, base: string, names: string[]): Promise<void> {
  for (let i = 1; i <= names.length; i++) {
    await s.mkdir({ path: `${base}/${names.slice(0, i).join('/')}` }).catch((err: unknown) => {
      if (!(err instanceof RemoteError && err.code === 'EEXIST')) throw err;
    });
  }
}

export class Transaction {
  constructor(
    private readonly session: Session,
    /** `branch/<b>/transactions/<t>` */
    readonly path: string,
  ) {}

  /** Writes a file in rw/, making its directories. */
  async write({ path, data, executable = false }: { path: string; data: Uint8Array | string; executable?: boolean }): Promise<void> {
    const names = treePath(path).split('/');
    await mkdirs(this.session, `${this.path}/rw`, names.slice(0, -1)).catch(mapErr);
    const full = `${this.path}/rw/${names.join('/')}`;
    await this.session.writeFile({ path: full, data: typeof data === 'string' ? enc.encode(data) : data, mode: executable ? 0o755 : 0o644 }).catch(mapErr);
    await this.session.setattr({ path: full, mode: executable ? 0o755 : 0o644 }).catch(mapErr);
  }

  async read({ path }: { path: string }): Promise<Uint8Array> {
    return this.session.readFile({ path: `${this.path}/rw/${treePath(path)}` }).catch(mapErr);
  }

  /** Removes a file or a directory (with what it holds). */
  async remove({ path }: { path: string }): Promise<void> {
    await this.session.remove({ path: `${this.path}/rw/${treePath(path)}` }).catch(mapErr);
  }

  /** Merges `commit` into rw/; resolves with the paths left in conflict. */
  async merge({ commit }: { commit: string }): Promise<string[]> {
    await command(this.session, `${this.path}/merge`, commit);
    const text = dec.decode(await this.session.readFile({ path: `${this.path}/conflicts` }).catch(mapErr));
    return text.split('\n').filter((l) => l !== '');
  }

  /** Commits with `message`; resolves with the branch's new head. */
  async commit({ message }: { message: string }): Promise<string> {
    await this.session.writeFile({ path: `${this.path}/msg`, data: enc.encode(message) }).catch(mapErr);
    await command(this.session, `${this.path}/ctl`, 'commit');
    const branch = this.path.split('/')[1] ?? '';
    return (dec.decode(await this.session.readFile({ path: `branch/${branch}/head` }).catch(mapErr))).trim();
  }

  /** Abandons the transaction. */
  async close(): Promise<void> {
    await command(this.session, `${this.path}/ctl`, 'close');
  }
}

export class Branch {
  constructor(
    private readonly session: Session,
    readonly name: string,
  ) {}

  private get path(): string {
    return `branch/${this.name}`;
  }

  /** Creates the branch if it does not exist. */
  async create(): Promise<void> {
    await this.session.mkdir({ path: this.path }).catch((err: unknown) => {
      if (!(err instanceof RemoteError && err.code === 'EEXIST')) mapErr(err);
    });
  }

  /** The head commit, or undefined for an empty branch. */
  async head(): Promise<string | undefined> {
    const h = dec.decode(await this.session.readFile({ path: `${this.path}/head` }).catch(mapErr)).trim();
    return h === '' ? undefined : h;
  }

  /** Starts a transaction (named at random unless `name` is given). */
  async transaction({ name }: { name?: string } = {}): Promise<Transaction> {
    const t = `${this.path}/transactions/${name === undefined ? randomBytes(8).toString('hex') : oneName('transaction', name)}`;
    await this.session.mkdir({ path: t }).catch(mapErr);
    return new Transaction(this.session, t);
  }

  async fastForward({ commit }: { commit: string }): Promise<void> {
    await command(this.session, `${this.path}/fast-forward`, commit);
  }

  async read({ path }: { path: string }): Promise<Uint8Array> {
    return this.session.readFile({ path: `${this.path}/ro/${treePath(path)}` }).catch(mapErr);
  }

  async remove(): Promise<void> {
    await this.session.remove({ path: this.path }).catch(mapErr);
  }

  /**
   * The head now, then each new head (a slow consumer skips to the latest), until
   * `signal` aborts. `undefined` is an empty or deleted branch.
   */
  async *watchHead({ signal }: { signal?: AbortSignal } = {}): AsyncGenerator<string | undefined> {
    const f = await this.session.open({ path: `${this.path}/head.live`, flags: P9_DOTL_RDONLY, signal }).catch(mapErr);
    try {
      let offset = 0;
      let buf = '';
      for (;;) {
        const d = await f.read({ offset, count: 4096, signal });
        offset += d.length;
        buf += dec.decode(d);
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          yield line === '' ? undefined : line;
        }
      }
    } finally {
      await f.close().catch(() => undefined);
    }
  }
}

/**
 * A connection to a datakit server.
 *
 * @example
 * const dk = await DatakitClient.connect({ address: 'unix!/run/datakit.sock' });
 * const master = dk.branch({ name: 'master' });
 * await master.create();
 * const t = await master.transaction();
 * await t.write({ path: 'config/greeting', data: 'hello\n' });
 * const head = await t.commit({ message: 'greet' });
 * await dk.close();
 */
export class DatakitClient {
  private constructor(readonly session: Session) {}

  /**
   * Connects to a dial string (`unix!/path`, `tcp!host!port`) or over a given stream.
   * `pipeline` (default true) sends each file operation's requests (walk, open, write,
   * clunk) at once: right for `datakit serve`, whose 9P server runs the requests naming
   * one fid in order (p9p's `serve`); pass false for another server.
   */
  static async connect(opts: ({ address: string } | { stream: Duplex }) & { signal?: AbortSignal; pipeline?: boolean }): Promise<DatakitClient> {
    const stream = 'stream' in opts ? opts.stream : await dial({ address: opts.address, ...(opts.signal ? { signal: opts.signal } : {}) });
    return new DatakitClient(await Session.connect({ stream, pipeline: opts.pipeline ?? true, ...(opts.signal ? { signal: opts.signal } : {}) }));
  }

  branch({ name }: { name: string }): Branch {
    return new Branch(this.session, oneName('branch', name));
  }

  async branches(): Promise<string[]> {
    const es = await this.session.readdir({ path: 'branch' }).catch(mapErr);
    return es.map((e) => e.name).filter((n) => n !== '.' && n !== '..').sort();
  }

  /** A file of commit `commit`'s tree. */
  async readSnapshot({ commit, path }: { commit: string; path: string }): Promise<Uint8Array> {
    return this.session.readFile({ path: `snapshots/${oneName('commit', commit)}/ro/${treePath(path)}` }).catch(mapErr);
  }

  close(): Promise<void> {
    return this.session.close();
  }
}
