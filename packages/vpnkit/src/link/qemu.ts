/**
 * QEMU's stream netdev (qemu/net/stream.c; `-netdev stream`): the server
 * side of
 *
 *   qemu-system-x86_64 ... -netdev stream,id=n0,server=off,addr.type=unix,addr.path=SOCK \
 *                          -device virtio-net-pci,netdev=n0
 *
 * "The frames are sent with a 4-byte length prefix in network byte order"
 * (net/stream.c: `uint32_t len = htonl(size)` before each packet; the same
 * record format as `-netdev socket`).  No handshake.  Each accepted
 * connection becomes one `StreamLink`.
 */

import { createServer, type Server, type Socket } from 'node:net';
import type { Link } from '../switch/link.js';
import { closeUnixServer, listenUnix } from './unix-server.js';
import { QEMU_FRAMING, StreamLink, type StreamLinkOptions } from './stream-link.js';

export interface StreamServerOptions extends Omit<StreamLinkOptions, 'initial' | 'name'> {
  /** Connections accepted at once (default 16); more are refused. */
  readonly maxConnections?: number;
}

/** A Unix-socket server that hands each QEMU connection to `onLink`. */
export class QemuStreamServer {
  private readonly server: Server;
  private readonly links = new Set<Link>();
  private count = 0;

  constructor(
    private readonly onLink: (link: Link) => void,
    private readonly opts: StreamServerOptions = {},
  ) {
    this.server = createServer((sock) => this.accept(sock));
    this.server.maxConnections = opts.maxConnections ?? 16;
  }

  private accept(sock: Socket): void {
    const link = new StreamLink(sock, QEMU_FRAMING, { ...this.opts, name: `qemu${this.count++}` });
    this.links.add(link);
    sock.once('close', () => this.links.delete(link));
    this.onLink(link);
  }

  /** Listens on a Unix socket path, owner-only (a stale socket file is removed first). */
  listen(path: string): Promise<void> {
    return listenUnix(this.server, path);
  }

  close(): Promise<void> {
    return closeUnixServer(this.server, this.links);
  }
}
