/**
 * The `datakit` client commands, for shell scripts (a server runs elsewhere:
 * `datakit serve`).  The server's address comes from `-a ADDR` or the
 * environment's DATAKIT_ADDR.
 *
 *   datakit read PATH                 a file of the tree (e.g. branch/master/ro/README)
 *   datakit ls PATH                   a directory, one name per line
 *   datakit commit BRANCH MSG [--write PATH=FILE]... [--remove PATH]...
 *                                     one transaction; FILE '-' is stdin; prints the commit
 *   datakit write BRANCH PATH [-m MSG] stdin to PATH in one commit (message "write PATH");
 *                                     prints the commit
 *   datakit log BRANCH [-n N]         commit id and first message line, newest first
 *   datakit watch BRANCH              the head now, then one line per change ('' = empty)
 *   datakit branch list|create NAME|delete NAME
 *
 * Exit status: 0, 1 for a failure the server or the system reported (its
 * message on stderr), 2 for a usage error.
 */
import { readFile } from 'node:fs/promises';
import { formatDialString } from '@kitbox/p9p';
import { DatakitClient } from '../client/client.js';
import { parseAddress, UsageError } from './args.js';

export const CLIENT_COMMANDS = new Set(['read', 'ls', 'commit', 'write', 'log', 'watch', 'branch']);

export interface ClientIo {
  out(data: string | Uint8Array): void;
  err(line: string): void;
  stdin(): Promise<Uint8Array>;
  env: Record<string, string | undefined>;
  /** Aborted to end `watch` (SIGINT in the bin). */
  signal?: AbortSignal;
}

const dec = new TextDecoder();

function need(v: string | undefined, what: string): string {
  if (v === undefined || v === '') throw new UsageError(`${what} is required`);
  return v;
}

export async function runClient(argv: readonly string[], io: ClientIo): Promise<number> {
  let args = [...argv];
  let addr = io.env.DATAKIT_ADDR;
  if (args[0] === '-a') {
    addr = args[1];
    args = args.slice(2);
  }
  const [cmd, ...rest] = args;
  let client: DatakitClient | undefined;
  try {
    if (addr === undefined || addr === '') throw new UsageError('no server address: give -a ADDR or set DATAKIT_ADDR');
    if (cmd === undefined || !CLIENT_COMMANDS.has(cmd)) throw new UsageError(`unknown command ${JSON.stringify(cmd ?? '')}`);
    let address: string;
    try {
      address = formatDialString(parseAddress(addr));
    } catch {
      throw new UsageError(`bad server address ${JSON.stringify(addr)}`);
    }
    // Usage is checked before connecting.
    const plan = plan_(cmd, rest);
    client = await DatakitClient.connect({ address });
    await plan(client, io);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`datakit: ${err.message}`);
      return 2;
    }
    const e = err as { message?: string; code?: string };
    io.err(`datakit: ${e.message ?? String(err)}${e.code !== undefined && !String(e.message).includes(e.code) ? ` (${e.code})` : ''}`);
    return 1;
  } finally {
    await client?.close().catch(() => undefined);
  }
}

type Plan = (c: DatakitClient, io: ClientIo) => Promise<void>;

/**
 * One transaction on `branch` (made if missing): the writes, then the removes, then the
 * commit, whose id is printed. On failure the transaction is closed and the error rethrown.
 */
async function oneShot(
  c: DatakitClient,
  io: ClientIo,
  branch: string,
  message: string,
  writes: ReadonlyArray<{ path: string; data: () => Promise<Uint8Array> }>,
  removes: readonly string[],
): Promise<void> {
  const b = c.branch({ name: branch });
  await b.create();
  const t = await b.transaction();
  try {
    for (const w of writes) await t.write({ path: w.path, data: await w.data() });
    for (const r of removes) await t.remove({ path: r });
    io.out(`${await t.commit({ message })}\n`);
  } catch (err) {
    await t.close().catch(() => undefined);
    throw err;
  }
}

function plan_(cmd: string, rest: string[]): Plan {
  switch (cmd) {
    case 'read': {
      const path = need(rest[0], 'PATH');
      return async (c, io) => io.out(await c.session.readFile({ path }));
    }
    case 'ls': {
      const path = rest[0] ?? '';
      return async (c, io) => {
        const es = await c.session.readdir({ path });
        for (const e of es.map((x) => x.name).filter((n) => n !== '.' && n !== '..').sort()) io.out(`${e}\n`);
      };
    }
    case 'commit': {
      const branch = need(rest[0], 'BRANCH');
      const message = need(rest[1], 'MSG');
      const writes: Array<{ path: string; file: string }> = [];
      const removes: string[] = [];
      for (let i = 2; i < rest.length; i++) {
        const flag = rest[i];
        const v = rest[++i];
        if (flag === '--write' && v !== undefined && v.indexOf('=') > 0) writes.push({ path: v.slice(0, v.indexOf('=')), file: v.slice(v.indexOf('=') + 1) });
        else if (flag === '--remove' && v !== undefined && v !== '') removes.push(v);
        else throw new UsageError(`commit: expected --write PATH=FILE or --remove PATH, got ${JSON.stringify(flag)}`);
      }
      if (writes.length + removes.length === 0) throw new UsageError('commit: nothing to commit (give --write or --remove)');
      return (c, io) =>
        oneShot(
          c,
          io,
          branch,
          message,
          writes.map((w) => ({ path: w.path, data: () => (w.file === '-' ? io.stdin() : readFile(w.file)) })),
          removes,
        );
    }
    case 'write': {
      const branch = need(rest[0], 'BRANCH');
      const path = need(rest[1], 'PATH');
      if (path.split('/').every((n) => n === '')) throw new UsageError(`write: PATH ${JSON.stringify(path)} names no file`);
      let message = `write ${path}`;
      for (let i = 2; i < rest.length; i++) {
        const flag = rest[i];
        if (flag !== '-m' && flag !== '--message') throw new UsageError(`write: expected -m MSG, got ${JSON.stringify(flag)}`);
        message = need(rest[++i], 'MSG after -m');
      }
      return (c, io) => oneShot(c, io, branch, message, [{ path, data: () => io.stdin() }], []);
    }
    case 'log': {
      const branch = need(rest[0], 'BRANCH');
      let n = 20;
      if (rest[1] === '-n') {
        n = Number(rest[2]);
        if (!Number.isInteger(n) || n <= 0) throw new UsageError('log: -n takes a positive number');
      }
      return async (c, io) => {
        let id = await c.branch({ name: branch }).head();
        for (let i = 0; i < n && id !== undefined; i++) {
          const text = dec.decode(await c.session.readFile({ path: `commits/${id}` }));
          const [headers = '', ...body] = text.split('\n\n');
          io.out(`${id} ${(body.join('\n\n').split('\n')[0] ?? '').trim()}\n`);
          id = /^parent ([0-9a-f]{40})$/m.exec(headers)?.[1];
        }
      };
    }
    case 'watch': {
      const branch = need(rest[0], 'BRANCH');
      return async (c, io) => {
        for await (const head of c.branch({ name: branch }).watchHead(io.signal ? { signal: io.signal } : {})) io.out(`${head ?? ''}\n`);
      };
    }
    case 'branch': {
      const sub = rest[0];
      if (sub === 'list') return async (c, io) => io.out((await c.branches()).map((b) => `${b}\n`).join(''));
      const name = need(rest[1], 'NAME');
      if (sub === 'create') return async (c) => c.branch({ name }).create();
      if (sub === 'delete') return async (c) => c.branch({ name }).remove();
      throw new UsageError('branch: list, create NAME or delete NAME');
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
  }
}
