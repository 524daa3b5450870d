/**
 * A listener that fails to accept (EMFILE when the process is out of file
 * descriptors) reports an 'error' on the server.  With no listener left for
 * it Node ends the process; every vpnkit listener keeps one and goes on
 * accepting: the QEMU and VMN3T link servers, the control API, and TCP and
 * UDP port forwards.
 */
import type * as dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ControlServer } from '../control/server.js';
import { nodeHost, type HostNetwork } from '../nat/host.js';
import { Stack } from '../stack/stack.js';
import { QemuStreamServer } from './qemu.js';
import { VmnetServer } from './vmnet.js';

const dir = mkdtempSync(join(tmpdir(), 'vpnkit-listen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const emfile = (): Error => Object.assign(new Error('accept EMFILE'), { code: 'EMFILE', syscall: 'accept' });

function inner(server: object): net.Server {
  return (server as { server: net.Server }).server;
}

async function connects(path: string): Promise<void> {
  const s = net.connect(path);
  await new Promise<void>((resolve, reject) => {
    s.once('connect', () => resolve());
    s.once('error', reject);
  });
  s.destroy();
}

describe('listeners survive failed accepts', () => {
  it('QEMU stream, VMN3T and control servers keep listening after accept errors', async () => {
    const stack = new Stack();
    const servers = [
      { s: new QemuStreamServer(() => undefined), path: join(dir, 'q.sock') },
      { s: new VmnetServer(() => undefined, { mtu: 1500 }), path: join(dir, 'v.sock') },
      { s: new ControlServer(stack), path: join(dir, 'c.sock') },
    ];
    for (const { s, path } of servers) {
      await s.listen(path);
      const srv = inner(s);
      expect(() => {
        srv.emit('error', emfile());
        srv.emit('error', emfile());
      }).not.toThrow();
      await connects(path);
      await s.close();
    }
    await stack.close();
  });

  it('TCP and UDP port forwards keep their listeners after errors', async () => {
    const made: { tcp?: net.Server; udp?: dgram.Socket } = {};
    const host: HostNetwork = {
      ...nodeHost,
      tcpServer(onConnection) {
        made.tcp = nodeHost.tcpServer(onConnection);
        return made.tcp;
      },
      udpSocket(family) {
        const s = nodeHost.udpSocket(family);
        made.udp = s;
        return s;
      },
    };
    const stack = new Stack({ host });
    stack.start();
    const t = await stack.forwards.expose({ proto: 'tcp', hostIp: '127.0.0.1', hostPort: 0, guestIp: '192.168.65.3', guestPort: 80 });
    const u = await stack.forwards.expose({ proto: 'udp', hostIp: '127.0.0.1', hostPort: 0, guestIp: '192.168.65.3', guestPort: 53 });
    const tcp = made.tcp as net.Server;
    const udp = made.udp as dgram.Socket;
    expect(() => {
      for (let i = 0; i < 3; i++) {
        tcp.emit('error', emfile());
        udp.emit('error', Object.assign(new Error('send EMSGSIZE'), { code: 'EMSGSIZE' }));
      }
    }).not.toThrow();
    expect(tcp.listening).toBe(true);
    // Still accepting: a host client connects (the guest is absent; the forward resets it later).
    const c = net.connect(t.hostPort, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => resolve());
      c.once('error', reject);
    });
    c.destroy();
    expect((await stack.forwards.list()).map((f) => f.id).sort()).toEqual([t.id, u.id].sort());
    await stack.close();
  });
});
