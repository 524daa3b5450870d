#!/usr/bin/env node
/**
 * The `p9p` command: export a directory (serve) or act on a 9P2000.L server.
 *   p9p serve ./share --listen unix!/tmp/share.sock
 *   P9P_ADDR=unix!/tmp/share.sock p9p ls -l
 *   echo hi | p9p -a tcp!127.0.0.1!5640 write notes.txt
 *
 * main() takes its stdio and environment as arguments, so tests run it in
 * process; the last lines run it when this file is the program.
 */
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Server } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { P9Error } from '../codec/errors.js';
import type { Dirent } from '../codec/types.js';
import { P9_DOTL_RDONLY, P9_DOTL_TRUNC, P9_DOTL_WRONLY } from '../codec/constants.js';
import { ERRNO } from '../channel/errno.js';
import { RemoteError } from '../channel/errors.js';
import type { Attr } from '../client/attr.js';
import { Session } from '../client/session.js';
import { LocalFs } from '../handlers/local.js';
import { serve } from '../server/serve.js';
import { dial, listen } from '../transport/dial.js';
import { formatDialString } from '../transport/dialstring.js';
import { parseArgs, USAGE, UsageError } from './args.js';
import type { Command } from './args.js';

export interface Io {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: Readonly<Record<string, string | undefined>>;
  /** Stops `serve` (the program wires SIGINT/SIGTERM to it). */
  signal?: AbortSignal;
  /** Called once `serve` listens (tests wait for it). */
  onListening?: (server: Server) => void;
}

/** Writes respecting backpressure. */
function put(out: Writable, data: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    out.write(data, (e) => (e ? reject(e) : resolve()));
  });
}

const S_IFMT = 0o170000;
const TYPES: Record<number, string> = { 0o040000: 'd', 0o120000: 'l', 0o010000: 'p', 0o140000: 's', 0o020000: 'c', 0o060000: 'b' };

/** "drwxr-xr-x", as ls -l writes it. */
export function modeString(mode: number): string {
  const t = TYPES[mode & S_IFMT] ?? '-';
  let s = t;
  for (let shift = 6; shift >= 0; shift -= 3) {
    const b = (mode >> shift) & 7;
    s += `${b & 4 ? 'r' : '-'}${b & 2 ? 'w' : '-'}${b & 1 ? 'x' : '-'}`;
  }
  return s;
}

function longLine(name: string, a: Attr): string {
  const mtime = new Date(Number(a.mtimeSec) * 1000).toISOString().replace('T', ' ').slice(0, 16);
  return `${modeString(a.mode)} ${String(a.nlink).padStart(3)} ${String(a.uid).padStart(5)} ${String(a.gid).padStart(5)} ${String(a.size).padStart(10)} ${mtime} ${name}\n`;
}

const join = (dir: string, name: string): string => (dir === '' || dir === '.' ? name : `${dir.replace(/\/+$/, '')}/${name}`);

async function client(cmd: Extract<Command, { kind: 'client' }>, io: Io): Promise<void> {
  const s = await Session.connect({ stream: await dial({ address: cmd.address }), msize: 1 << 20 });
  try {
    switch (cmd.op) {
      case 'ls':
        for (const p of cmd.paths) {
          const a = await s.stat({ path: p });
          if ((a.mode & S_IFMT) !== 0o040000) {
            await put(io.stdout, cmd.long ? longLine(p, a) : `${p}\n`);
            continue;
          }
          if (cmd.paths.length > 1) await put(io.stdout, `${p}:\n`);
          const names = (await s.readdir({ path: p })).filter((d: Dirent) => d.name !== '.' && d.name !== '..').map((d) => d.name).sort();
          for (const n of names) await put(io.stdout, cmd.long ? longLine(n, await s.stat({ path: join(p, n) })) : `${n}\n`);
        }
        return;
      case 'read': {
        const f = await s.open({ path: cmd.paths[0]!, flags: P9_DOTL_RDONLY });
        try {
          for (let off = 0n; ; ) {
            const data = await f.read({ offset: off, count: 1 << 20 });
            if (data.length === 0) break;
            await put(io.stdout, data);
            off += BigInt(data.length);
          }
        } finally {
          await f.close().catch(() => {});
        }
        return;
      }
      case 'write': {
        const path = cmd.paths[0]!;
        const flags = P9_DOTL_WRONLY | P9_DOTL_TRUNC;
        const f = await s.open({ path, flags }).catch((e: unknown) => {
          if (e instanceof RemoteError && e.errno === ERRNO.ENOENT) return s.create({ path, flags, mode: 0o644 });
          throw e;
        });
        try {
          let off = 0n;
          for await (const chunk of io.stdin) {
            const data = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : (chunk as Uint8Array);
            off += BigInt(await f.write({ offset: off, data }));
          }
        } finally {
          await f.close().catch(() => {});
        }
        return;
      }
      case 'stat':
        for (const p of cmd.paths) {
          const a = await s.stat({ path: p });
          const t = (sec: bigint, ns: bigint): string => new Date(Number(sec) * 1000 + Number(ns / 1_000_000n)).toISOString();
          await put(
            io.stdout,
            `${p === '' ? '.' : p}: ${modeString(a.mode)} mode=0${(a.mode & 0o7777).toString(8)} size=${a.size} nlink=${a.nlink} uid=${a.uid} gid=${a.gid} ino=${a.qid.path} mtime=${t(a.mtimeSec, a.mtimeNsec)}\n`,
          );
        }
        return;
      case 'mkdir':
        for (const p of cmd.paths) await s.mkdir({ path: p, mode: 0o755 });
        return;
      case 'rm':
        for (const p of cmd.paths) await s.remove({ path: p });
        return;
      case 'mv':
        await s.rename({ from: cmd.paths[0]!, to: cmd.paths[1]! });
        return;
    }
  } finally {
    await s.close();
  }
}

/**
 * Connections `p9p serve` serves at once; past it a new connection is closed as soon as it
 * is accepted. Each may hold up to maxInflight requests and replies of msize bytes, so this
 * bounds the server's memory.
 */
const MAX_CONNECTIONS = 256;

async function serveDir(cmd: Extract<Command, { kind: 'serve' }>, io: Io): Promise<void> {
  let fs: LocalFs;
  try {
    fs = new LocalFs({ root: cmd.dir, readOnly: cmd.readOnly, ...(cmd.uidMap ? { uidMap: cmd.uidMap } : {}), ...(cmd.gidMap ? { gidMap: cmd.gidMap } : {}) });
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
  const server = await listen({
    address: cmd.listen,
    onConnection: (sock) => void serve({ stream: sock, handler: fs }),
    maxConnections: MAX_CONNECTIONS,
    onError: (e) => void put(io.stderr, `p9p: ${e.message} (still serving)\n`).catch(() => undefined),
  });
  const addr = server.address();
  const shown = cmd.listen.kind === 'tcp' && addr !== null && typeof addr === 'object' ? { ...cmd.listen, port: addr.port } : cmd.listen;
  await put(io.stderr, `p9p: serving ${cmd.dir}${cmd.readOnly ? ' (read-only)' : ''} on ${formatDialString(shown)}\n`);
  io.onListening?.(server);
  await new Promise<void>((resolve) => {
    if (io.signal?.aborted === true) resolve();
    io.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    // Open connections end with the process; close() only stops accepting.
    (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
  });
  fs.close();
}

function describeError(e: unknown): string {
  if (e instanceof RemoteError) return e.message === e.code ? e.code : e.message;
  if (e instanceof P9Error) return `${e.code}: ${e.message}`;
  const c = (e as { code?: unknown }).code;
  const m = (e as Error).message ?? String(e);
  return typeof c === 'string' && !m.startsWith(c) ? `${c}: ${m}` : m;
}

/**
 * Runs the command line `argv`; resolves with the exit status.
 *
 * @example
 *   const status = await main(['-a', 'unix!/tmp/s', 'ls'], { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env });
 */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  let cmd: Command;
  try {
    cmd = parseArgs({ argv, env: io.env });
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    await put(io.stderr, `p9p: ${e.message}\n${USAGE}\n`);
    return 2;
  }
  if (cmd.kind === 'help') {
    await put(io.stdout, `${USAGE}\n`);
    return 0;
  }
  if (cmd.kind === 'version') {
    const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };
    await put(io.stdout, `p9p (@kitbox/p9p) ${pkg.version}\n`);
    return 0;
  }
  try {
    if (cmd.kind === 'serve') await serveDir(cmd, io);
    else await client(cmd, io);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      await put(io.stderr, `p9p: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    const what = cmd.kind === 'serve' ? `serve ${cmd.dir}` : `${cmd.op} ${cmd.paths.join(' ')}`.trim();
    await put(io.stderr, `p9p: ${what}: ${describeError(e).split('\n')[0]}\n`);
    return 1;
  }
}

/** True when this file is the program (also through node_modules/.bin's symlink). */
function isProgram(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isProgram()) {
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  process.once('SIGTERM', () => ac.abort());
  main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, signal: ac.signal }).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`p9p: ${describeError(e)}\n`);
      process.exitCode = 1;
    },
  );
}
