import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { QemuStreamServer } from '../link/qemu.js';
import { ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetAddress, EthernetFrame, EthernetRepr, Ipv4Address, parseFrame } from '../wire/index.js';
import { Stack } from './stack.js';

describe('Stack behind the QEMU stream server', () => {
  it('answers an ARP request sent by a QEMU-speaking client', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vpnkit-qs-'));
    const stack = new Stack();
    stack.start();
    const server = new QemuStreamServer((l) => void stack.addLink(l));
    const path = join(dir, 'q.sock');
    await server.listen(path);
    try {
      const sock = connect(path);
      await new Promise<void>((r) => sock.once('connect', () => r()));
      const guest = EthernetAddress.parse('52:54:00:12:34:56');
      const f = new Uint8Array(60);
      EthernetRepr.emit({ src: guest, dst: EthernetAddress.BROADCAST, etherType: EtherType.Arp }, EthernetFrame.unchecked(f));
      ArpRepr.emit(
        {
          operation: ArpOperation.Request,
          senderHardwareAddr: guest,
          senderProtocolAddr: Ipv4Address.parse('192.168.65.3'),
          targetHardwareAddr: EthernetAddress.ZERO,
          targetProtocolAddr: Ipv4Address.parse('192.168.65.1'),
        },
        ArpPacket.unchecked(f.subarray(14)),
      );
      const got = new Promise<Buffer>((resolve) => {
        let buf = Buffer.alloc(0);
        sock.on('data', (c: Buffer) => {
          buf = Buffer.concat([buf, c]);
          if (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) resolve(buf.subarray(4, 4 + buf.readUInt32BE(0)));
        });
      });
      const hdr = Buffer.alloc(4);
      hdr.writeUInt32BE(f.length);
      sock.write(Buffer.concat([hdr, f]));
      const reply = parseFrame(new Uint8Array(await got));
      expect(reply.ethernet.dst).toEqual(guest);
      expect(reply.network.kind === 'arp' && reply.network.arp.operation).toBe(ArpOperation.Reply);
      expect(reply.network.kind === 'arp' && EthernetAddress.format(reply.network.arp.senderHardwareAddr)).toBe('f6:16:36:bc:f9:c6');
      sock.destroy();
    } finally {
      await stack.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
