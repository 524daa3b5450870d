import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Link } from '../switch/link.js';
import { socketReader } from '../testing/wire.fixture.js';
import { hexToBytes } from '../wire/index.js';
import { QemuStreamServer } from './qemu.js';
import { VmnetServer, macForUuid, type VmnetConnection } from './vmnet.js';
import { decodeCommand, decodeInit, decodeVif, encodeCommand, encodeDisconnect, encodeInit } from './vmnet-proto.js';

const dir = mkdtempSync(join(tmpdir(), 'vpnkit-links-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function frame(n: number, len = 60): Uint8Array {
  const f = new Uint8Array(len);
  for (let i = 0; i < len; i++) f[i] = (i * 7 + n) & 0xff;
  return f;
}

async function connected(path: string): Promise<Socket> {
  const s = connect(path);
  await new Promise<void>((r) => s.once('connect', () => r()));
  return s;
}

describe('QEMU stream link (4-byte big-endian length)', () => {
  it('carries frames byte-exact both ways', async () => {
    const path = join(dir, 'qemu.sock');
    let link: Link | undefined;
    const server = new QemuStreamServer((l) => (link = l));
    await server.listen(path);
    const sock = await connected(path);
    const read = socketReader(sock);
    // Two records in one write, the second split across two writes.
    const a = frame(1, 60);
    const b = frame(2, 1514);
    const rec = (f: Uint8Array): Buffer => Buffer.concat([Buffer.from([0, 0, (f.length >> 8) & 0xff, f.length & 0xff]), f]);
    const both = Buffer.concat([rec(a), rec(b)]);
    sock.write(both.subarray(0, 100));
    await new Promise((r) => setTimeout(r, 10));
    sock.write(both.subarray(100));
    while (link === undefined) await new Promise((r) => setTimeout(r, 5));
    const it = link.frames();
    expect(Buffer.from((await it.next()).value as Uint8Array).equals(Buffer.from(a))).toBe(true);
    expect(Buffer.from((await it.next()).value as Uint8Array).equals(Buffer.from(b))).toBe(true);

    const c = frame(3, 98);
    expect(link.send(c)).toBe(true);
    const hdr = await read(4);
    expect([...hdr]).toEqual([0, 0, 0, 98]);
    expect((await read(98)).equals(Buffer.from(c))).toBe(true);
    expect(link.stats()).toMatchObject({ rxFrames: 2, txFrames: 1, rxDropped: 0 });
    sock.destroy();
    await server.close();
  });

  it('closes the connection on an oversized length and drops runts', async () => {
    const path = join(dir, 'qemu2.sock');
    let link: Link | undefined;
    const server = new QemuStreamServer((l) => (link = l), { maxFrameSize: 2000 });
    await server.listen(path);
    const sock = await connected(path);
    sock.write(Buffer.from([0, 0, 0, 4, 1, 2, 3, 4])); // runt: dropped
    sock.write(Buffer.from([0, 1, 0, 0])); // 65536 > 2000: protocol error
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.on('error', () => undefined);
    await closed;
    expect(link?.stats()).toMatchObject({ rxFrames: 0, rxDropped: 2, protocolErrors: 1 });
    expect(link?.closed).toBe(true);
    await server.close();
  });
});

describe('VMN3T protocol', () => {
  const UUID = '8d4ee1a8-5a4f-4e1c-9d6e-2f0c1a7b3c5d';

  it('init is 49 bytes: "VMN3T", version 22 LE, 40-byte commit (golden)', () => {
    const b = encodeInit({ magic: 'VMN3T', version: 22, commit: 'a'.repeat(40) });
    expect(Buffer.from(b).toString('hex')).toBe(
      Buffer.from('VMN3T').toString('hex') + '16000000' + '61'.repeat(40),
    );
    expect(decodeInit(b)).toEqual({ magic: 'VMN3T', version: 22, commit: 'a'.repeat(40) });
    expect(decodeInit(hexToBytes('00'.repeat(49)))).toBeUndefined();
  });

  it('ethernet command is 41 bytes: 0x01, 36-char uuid, 4 zero bytes (golden)', () => {
    const b = encodeCommand({ kind: 'ethernet', uuid: UUID });
    expect(b.length).toBe(41);
    expect(Buffer.from(b).toString('hex')).toBe('01' + Buffer.from(UUID).toString('hex') + '00000000');
    expect(decodeCommand(b)).toEqual({ kind: 'ethernet', uuid: UUID });
    const p = encodeCommand({ kind: 'preferredIpv4', uuid: UUID, ip: 0xc0a84105 });
    expect(Buffer.from(p.subarray(37)).toString('hex')).toBe('0541a8c0'); // 192.168.65.5, little-endian
    expect(decodeCommand(p)).toEqual({ kind: 'preferredIpv4', uuid: UUID, ip: 0xc0a84105 });
    const bad = b.slice();
    bad[5] = 0x7a; // not a uuid any more
    expect(decodeCommand(bad)).toBeUndefined();
  });

  it('a Node client speaking hyperkit\'s side gets a 258-byte VIF reply, then LE-length frames byte-exact', async () => {
    const path = join(dir, 'vmnet.sock');
    let conn: VmnetConnection | undefined;
    const server = new VmnetServer((c) => (conn = c), { mtu: 1500, commit: 'c'.repeat(40) });
    await server.listen(path);
    const sock = await connected(path);
    const read = socketReader(sock);
    sock.write(encodeInit({ magic: 'VMN3T', version: 22, commit: 'b'.repeat(40) }));
    const init = await read(49);
    expect(init.subarray(0, 9).toString('hex')).toBe('564d4e335416000000'); // "VMN3T", 22 LE
    expect(init.subarray(9).toString()).toBe('c'.repeat(40));
    // The command and the first frame in one write: the server must keep the leftover bytes.
    const f1 = frame(9, 342);
    sock.write(Buffer.concat([encodeCommand({ kind: 'ethernet', uuid: UUID }), Buffer.from([342 & 0xff, 342 >> 8]), f1]));
    const resp = await read(258);
    const mac = macForUuid(UUID);
    const golden = Buffer.alloc(258);
    golden[0] = 1; // RESP_VIF
    golden.writeUInt16LE(1500, 1); // mtu
    golden.writeUInt16LE(1550, 3); // max_packet_size
    Buffer.from(mac).copy(golden, 5);
    expect(resp.equals(golden)).toBe(true);
    expect(decodeVif(resp)).toEqual({ mtu: 1500, maxPacketSize: 1550, mac });
    expect(mac[0]! & 0x03).toBe(0x02); // locally administered unicast
    expect(macForUuid(UUID)).toEqual(mac); // stable per uuid

    while (conn === undefined) await new Promise((r) => setTimeout(r, 5));
    expect(conn.command).toEqual({ kind: 'ethernet', uuid: UUID });
    const it = conn.link.frames();
    expect(Buffer.from((await it.next()).value as Uint8Array).equals(Buffer.from(f1))).toBe(true);
    const f2 = frame(4, 1514);
    conn.link.send(f2);
    expect([...(await read(2))]).toEqual([1514 & 0xff, 1514 >> 8]);
    expect((await read(1514)).equals(Buffer.from(f2))).toBe(true);
    sock.destroy();
    await server.close();
  });

  it('refuses a bad magic, and sends a disconnect reply for a refused uuid', async () => {
    const path = join(dir, 'vmnet2.sock');
    const server = new VmnetServer(() => undefined, { vifFor: () => 'no more VIFs' });
    await server.listen(path);
    const s1 = await connected(path);
    s1.on('error', () => undefined);
    s1.write(Buffer.alloc(49, 0x41));
    await new Promise<void>((r) => s1.once('close', () => r()));

    const s2 = await connected(path);
    const read = socketReader(s2);
    s2.write(encodeInit());
    await read(49);
    s2.write(encodeCommand({ kind: 'ethernet', uuid: UUID }));
    const resp = await read(258);
    expect(resp.equals(Buffer.from(encodeDisconnect('no more VIFs')))).toBe(true);
    expect(resp[0]).toBe(2);
    expect(resp.subarray(2, 2 + (resp[1] ?? 0)).toString()).toBe('no more VIFs');
    expect(server.handshakeFailures).toBe(2);
    s2.destroy();
    await server.close();
  });
});

describe('link servers', () => {
  it('listen on owner-only Unix sockets', async () => {
    const q = new QemuStreamServer(() => {});
    const v = new VmnetServer(() => {});
    await q.listen(join(dir, 'perm-q.sock'));
    await v.listen(join(dir, 'perm-v.sock'));
    try {
      expect(statSync(join(dir, 'perm-q.sock')).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, 'perm-v.sock')).mode & 0o777).toBe(0o600);
    } finally {
      await q.close();
      await v.close();
    }
  });
});
