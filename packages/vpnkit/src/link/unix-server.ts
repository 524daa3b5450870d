/**
 * What the link servers (QEMU stream, VMN3T) share: listening on a Unix socket that only
 * its owner may connect to, and closing the server with every link it accepted.
 */
import { chmodSync, rmSync } from 'node:fs';
import type { Server } from 'node:net';
import type { Link } from '../switch/link.js';

/**
 * Listens on `path` (a stale socket file is removed first), mode 0600: owner only.
 * Once listening, a failed accept (EMFILE, ENFILE, ENOMEM) is passed to `onError`
 * (default: ignored): the server keeps listening and the next connection is taken.
 */
export function listenUnix(server: Server, path: string, onError: (err: Error) => void = () => undefined): Promise<void> {
  rmSync(path, { force: true });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // Bound under umask 0177 (listen binds synchronously), so the socket is never wider
    // than 0600, not even before the chmod below; where umask cannot be set (a worker
    // thread) the chmod alone makes it owner-only.
    const old = setUmask(0o177);
    try {
      server.listen(path, onListening);
    } finally {
      if (old !== undefined) setUmask(old);
    }
    function onListening(): void {
      server.off('error', reject);
      server.on('error', onError);
      try {
        chmodSync(path, 0o600);
        resolve();
      } catch (err) {
        server.close();
        reject(err);
      }
    }
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

/** Closes every accepted link, then the server. */
export async function closeUnixServer(server: Server, links: ReadonlySet<Link>): Promise<void> {
  await Promise.all([...links].map((l) => l.close()));
  await new Promise<void>((r) => server.close(() => r()));
}
