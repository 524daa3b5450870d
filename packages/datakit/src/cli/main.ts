#!/usr/bin/env node
/**
 * The `datakit` command: `datakit serve --git DIR --listen ADDR` (see args.ts), and the
 * client commands for shell scripts (read, ls, commit, log, watch, branch: client-commands.ts).
 * Serves every connection at once; SIGINT/SIGTERM close the listeners and the open
 * connections (their uncommitted transactions are dropped) and exit 0.
 */
import { rm } from 'node:fs/promises';
import type { Server, Socket } from 'node:net';
import { dial, formatDialString, listen } from '@kitbox/p9p';
import type { Address } from '@kitbox/p9p';
import { DatakitFs } from '../fs/server.js';
import { parseArgs, USAGE, UsageError } from './args.js';
import { CLIENT_COMMANDS, runClient } from './client-commands.js';

/** Listens; a Unix socket file left by a dead server is replaced, a live one is not. */
async function listenOn(address: Address, onConnection: (s: Socket) => void): Promise<Server> {
  try {
    return await listen({ address, onConnection });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || address.kind !== 'unix') throw err;
    const alive = await dial({ address }).then(
      (s) => {
        s.destroy();
        return true;
      },
      () => false,
    );
    if (alive) throw new Error(`${address.path} is in use by a running server`);
    await rm(address.path, { force: true });
    return listen({ address, onConnection });
  }
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === '-a' || CLIENT_COMMANDS.has(argv[0] ?? '')) {
    const ac = new AbortController();
    process.once('SIGINT', () => ac.abort());
    process.once('SIGTERM', () => ac.abort());
    return runClient(argv, {
      out: (d) => process.stdout.write(d),
      err: (l) => console.error(l),
      stdin: async () => {
        const chunks: Buffer[] = [];
        for await (const c of process.stdin) chunks.push(c as Buffer);
        return Buffer.concat(chunks);
      },
      env: process.env,
      signal: ac.signal,
    });
  }
  let args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`datakit: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const verbose = args.verbose;
  let fs: DatakitFs;
  try {
    fs = await DatakitFs.open({ gitdir: args.git, fsync: args.fsync, ...(verbose ? { log: (m: string) => console.error(m) } : {}) });
  } catch (err) {
    console.error(`datakit: cannot open the repository ${args.git}: ${(err as Error).message}`);
    return 1;
  }
  const live = new Set<{ close(): void; done: Promise<unknown> }>();
  const servers: Server[] = [];
  const onConnection = (socket: Socket): void => {
    socket.on('error', () => undefined);
    const conn = fs.serve(socket);
    live.add(conn);
    if (verbose) console.error(`datakit: connection from ${socket.remoteAddress ?? 'a unix socket'}`);
    void conn.done.then(() => live.delete(conn));
  };
  try {
    for (const a of args.listen) servers.push(await listenOn(a, onConnection));
  } catch (err) {
    for (const s of servers) s.close();
    console.error(`datakit: cannot listen: ${(err as Error).message}`);
    return 1;
  }
  // The bound addresses (a TCP port 0 becomes the port the system chose).
  const bound = args.listen.map((a, i) => {
    const addr = servers[i]?.address();
    return a.kind === 'tcp' && addr !== null && typeof addr === 'object' ? { ...a, port: addr.port } : a;
  });
  console.error(`datakit: serving ${args.git} on ${bound.map(formatDialString).join(', ')}${args.fsync === 'never' ? ' (--fsync=never)' : ''}`);
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  console.error(`datakit: ${signal}: shutting down`);
  const closed = servers.map((s) => new Promise<void>((r) => s.close(() => r())));
  for (const c of live) c.close();
  await Promise.all([...closed, ...[...live].map((c) => c.done)]);
  fs.repo.close();
  for (const a of args.listen) if (a.kind === 'unix') await rm(a.path, { force: true });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`datakit: ${(err as Error).message ?? String(err)}`);
    process.exitCode = 1;
  },
);
