/*
 * Connecting and listening over TCP and Unix sockets.
 *
 * dial(2): "Dial makes a call to destination addr on a multiplexed network."
 * announce/listen: a server announces an address and serves each call.
 */
import { chmodSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { AbortError } from '../channel/errors.js';
import type { Address } from './dialstring.js';
import { parseDialString } from './dialstring.js';

function toAddress(a: string | Address): Address {
  return typeof a === 'string' ? parseDialString(a) : a;
}

/**
 * Opens a socket to a dial string (`tcp!host!port`, `unix!/path`).
 *
 * @example
 *   const session = await Session.connect({ stream: await dial({ address: 'unix!/run/9p.sock' }) });
 */
export function dial(opts: { address: string | Address; signal?: AbortSignal }): Promise<Socket> {
  const a = toAddress(opts.address);
  const { signal } = opts;
  if (signal?.aborted) return Promise.reject(new AbortError(undefined, signal.reason));
  return new Promise((resolve, reject) => {
    const sock = a.kind === 'unix' ? connect({ path: a.path }) : connect({ host: a.host, port: a.port });
    const onAbort = (): void => {
      sock.destroy();
      reject(new AbortError(undefined, signal?.reason));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    sock.once('connect', () => {
      signal?.removeEventListener('abort', onAbort);
      sock.setNoDelay?.(true);
      resolve(sock);
    });
    sock.once('error', (e) => {
      signal?.removeEventListener('abort', onAbort);
      reject(e);
    });
  });
}

/**
 * Listens on a dial string and calls `onConnection` for each socket (a Unix socket is
 * made owner-only, mode 0600).
 * Resolves with the listening server once bound.
 *
 * @example
 *   const server = await listen({ address: 'tcp!127.0.0.1!5640', onConnection: (s) => serve({ stream: s, handler }) });
 */
export function listen(opts: {
  address: string | Address;
  onConnection: (socket: Socket) => void;
  /** Errors after the server is listening (a failed accept); default: ignored, the server goes on. */
  onError?: (err: Error) => void;
  /** Connections served at once (net.Server's maxConnections: past it new ones are closed). Default: no bound. */
  maxConnections?: number;
}): Promise<Server> {
  const a = toAddress(opts.address);
  const server = createServer((s) => {
    s.setNoDelay?.(true);
    opts.onConnection(s);
  });
  if (opts.maxConnections !== undefined) server.maxConnections = opts.maxConnections;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const ready = (): void => {
      server.off('error', reject);
      // Once listening, a failed accept (EMFILE, ENFILE, ENOBUFS) is an 'error' on the server:
      // with no listener it would end the process. It is reported and the server goes on.
      server.on('error', opts.onError ?? (() => undefined));
      try {
        // A Unix socket is for its owner only: the file server behind it is not public.
        if (a.kind === 'unix') chmodSync(a.path, 0o600);
        resolve(server);
      } catch (err) {
        server.close();
        reject(err);
      }
    };
    if (a.kind === 'unix') {
      // The socket file is made 0600 as it is bound (listen binds synchronously), not after:
      // no window in which another user may connect. Where umask cannot be set (a worker
      // thread), the chmod in ready() is what makes it owner-only.
      const old = setUmask(0o177);
      try {
        server.listen(a.path, ready);
      } finally {
        if (old !== undefined) setUmask(old);
      }
    } else server.listen(a.port, a.host, ready);
  });
}

/** process.umask(mask), or undefined where it cannot be set (worker threads). */
function setUmask(mask: number): number | undefined {
  try {
    return process.umask(mask);
  } catch {
    return undefined;
  }
}
