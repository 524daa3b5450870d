/**
 * The Docker API on the host: a Unix socket (owner-only) whose every
 * connection becomes a TCP connection through vpnkit to dockerd in the VM
 * (port 2375, which only the VM's private network can reach).  No bytes
 * are parsed here: the relay is TCP in both directions, half-close
 * included, so `docker attach`, `exec` and HTTP upgrades work as they do
 * on dockerd's own socket.
 */
import { chmodSync, existsSync, lstatSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Stack } from '@kitbox/vpnkit';
import { Ipv4Address } from '@kitbox/vpnkit';

export const DOCKERD_GUEST_PORT = 2375;

export class DockerRelay {
  private readonly server: Server;
  private guest: number | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly stack: Stack,
    readonly socketPath: string,
  ) {
    this.server = createServer({ pauseOnConnect: true, allowHalfOpen: true }, (s) => this.accept(s));
    this.server.maxConnections = 4096;
  }

  /** The VM's address, once it has a lease (connections before that are closed). */
  setGuest(ip: string | undefined): void {
    this.guest = ip === undefined ? undefined : Ipv4Address.parse(ip);
  }

  private accept(s: Socket): void {
    if (this.guest === undefined) {
      s.destroy();
      return;
    }
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
    this.stack.tcp.openToGuest(s, this.guest, DOCKERD_GUEST_PORT);
  }

  /** Listen (owner-only). A stale socket file is replaced; anything else at the path is an error. */
  listen(): Promise<void> {
    const dir = dirname(this.socketPath);
    if (!existsSync(dir)) return Promise.reject(new Error(`the Docker socket's folder ${dir} does not exist`));
    if (existsSync(this.socketPath)) {
      if (!lstatSync(this.socketPath).isSocket()) {
        return Promise.reject(new Error(`${this.socketPath} exists and is not a socket: not replacing it`));
      }
      rmSync(this.socketPath, { force: true });
    }
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      // umask-independent: create it, then restrict before anyone can be told about it.
      this.server.listen(this.socketPath, () => {
        this.server.off('error', reject);
        try {
          chmodSync(this.socketPath, 0o600);
          resolve();
        } catch (e) {
          this.server.close();
          reject(e as Error);
        }
      });
    });
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => {
      rmSync(this.socketPath, { force: true });
      resolve();
    }));
  }
}
