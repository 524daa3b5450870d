/**
 * The vpnkit/hyperkit VMN3T server (see vmnet-proto.ts for the bytes):
 *
 *   client -> msg_init (49)      server -> msg_init (49)
 *   client -> msg_command (41)   server -> msg_response (258): VIF or disconnect
 *   then 2-byte little-endian length-prefixed Ethernet frames both ways.
 *
 * The server picks the VIF's MAC for the client's uuid (`vifFor`; by
 * default a locally administered MAC derived from the uuid, so a VM that
 * reconnects with the same uuid keeps its MAC and hence its DHCP lease).
 * A client that does not complete the handshake within `handshakeMs`, or
 * sends a bad magic or command, is disconnected.
 */

import { createHash } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { Link } from '../switch/link.js';
import { closeUnixServer, listenUnix } from './unix-server.js';
import type { StreamServerOptions } from './qemu.js';
import { StreamLink, VMNET_FRAMING } from './stream-link.js';
import {
  VMNET_COMMAND_LEN,
  VMNET_INIT_LEN,
  decodeCommand,
  decodeInit,
  encodeDisconnect,
  encodeInit,
  encodeVif,
  type VmnetCommand,
  type VmnetVif,
} from './vmnet-proto.js';

/** 02:xx:...: locally administered, unicast, from SHA-256 of the uuid. */
export function macForUuid(uuid: string): Uint8Array {
  const h = createHash('sha256').update(uuid.toLowerCase()).digest();
  const mac = Uint8Array.from(h.subarray(0, 6));
  mac[0] = ((mac[0] ?? 0) & 0xfc) | 0x02;
  return mac;
}

export interface VmnetServerOptions extends StreamServerOptions {
  /** The VIF for a client, or a string to refuse it (default: `mtu`, max packet mtu + 50, MAC from uuid). */
  readonly vifFor?: (cmd: VmnetCommand) => VmnetVif | string;
  readonly mtu?: number;
  /** Handshake deadline, ms (default 5000). */
  readonly handshakeMs?: number;
  /** Commit string sent in our init (40 chars). */
  readonly commit?: string;
}

export interface VmnetConnection {
  readonly link: Link;
  readonly command: VmnetCommand;
  readonly vif: VmnetVif;
}

/** The VIF a client gets unless `vifFor` says otherwise: `mtu`, max packet mtu + 50, MAC from its uuid. */
export function defaultVif(cmd: VmnetCommand, mtu: number): VmnetVif {
  // mtu + 50 leaves room for the Ethernet header and tags, as moby/vpnkit's Vif.create does (to our
  // reading of it); capped by the 2-byte frame length.
  return { mtu, maxPacketSize: Math.min(mtu + 50, 0xffff), mac: macForUuid(cmd.uuid) };
}

export class VmnetServer {
  private readonly server: Server;
  private readonly links = new Set<Link>();
  private count = 0;
  handshakeFailures = 0;

  constructor(
    private readonly onConnection: (c: VmnetConnection) => void,
    private readonly opts: VmnetServerOptions = {},
  ) {
    this.server = createServer((sock) => this.accept(sock));
    this.server.maxConnections = opts.maxConnections ?? 16;
  }

  private accept(sock: Socket): void {
    let buf = new Uint8Array(0);
    let stage: 'init' | 'command' = 'init';
    const fail = (why: string, reply?: Uint8Array): void => {
      this.handshakeFailures++;
      clearTimeout(timer);
      sock.off('data', onData);
      if (reply !== undefined) sock.end(reply);
      else sock.destroy();
      void why;
    };
    const timer = setTimeout(() => fail('handshake timeout'), this.opts.handshakeMs ?? 5000);
    timer.unref();
    sock.on('error', () => clearTimeout(timer));
    const onData = (chunk: Buffer): void => {
      const joined = new Uint8Array(buf.length + chunk.length);
      joined.set(buf);
      joined.set(chunk, buf.length);
      buf = joined;
      if (stage === 'init') {
        if (buf.length < VMNET_INIT_LEN) return;
        if (decodeInit(buf.subarray(0, VMNET_INIT_LEN)) === undefined) return fail('bad magic');
        sock.write(encodeInit({ magic: 'VMN3T', version: 22, commit: this.opts.commit ?? '0'.repeat(40) }));
        buf = buf.slice(VMNET_INIT_LEN);
        stage = 'command';
      }
      if (buf.length < VMNET_COMMAND_LEN) return;
      const cmd = decodeCommand(buf.subarray(0, VMNET_COMMAND_LEN));
      if (cmd === undefined) return fail('bad command', encodeDisconnect('unknown command'));
      const vif = this.opts.vifFor?.(cmd) ?? defaultVif(cmd, this.opts.mtu ?? 1500);
      if (typeof vif === 'string') return fail('refused', encodeDisconnect(vif));
      clearTimeout(timer);
      sock.off('data', onData);
      sock.write(encodeVif(vif));
      const link = new StreamLink(sock, VMNET_FRAMING, {
        ...this.opts,
        name: `vmnet${this.count++}`,
        maxFrameSize: Math.min(this.opts.maxFrameSize ?? 0xffff, 0xffff),
        initial: buf.slice(VMNET_COMMAND_LEN),
      });
      this.links.add(link);
      sock.once('close', () => this.links.delete(link));
      this.onConnection({ link, command: cmd, vif });
    };
    sock.on('data', onData);
  }

  /** Listens on a Unix socket path, owner-only (a stale socket file is removed first). */
  listen(path: string): Promise<void> {
    return listenUnix(this.server, path);
  }

  close(): Promise<void> {
    return closeUnixServer(this.server, this.links);
  }
}
