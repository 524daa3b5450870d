import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hexToBytes } from '../wire/index.js';
import { PcapWriter } from './pcap.js';

// An ARP request, 192.168.65.3 asking for 192.168.65.1 (padded to 60 bytes).
const ARP = hexToBytes(
  'ff ff ff ff ff ff  02 50 00 00 00 01  08 06', // dst, src, EtherType ARP
  '00 01 08 00 06 04 00 01', // Ethernet/IPv4, request
  '02 50 00 00 00 01 c0 a8 41 03', // sha, spa
  '00 00 00 00 00 00 c0 a8 41 01', // tha, tpa
  '00'.repeat(18),
);

describe('PcapWriter', () => {
  it('writes the global header and records byte-exact', () => {
    const chunks: Uint8Array[] = [];
    const w = new PcapWriter((c) => chunks.push(c), 40);
    w.write(ARP, 1_700_000_000_250);
    expect([...(chunks[0] ?? [])]).toEqual([
      0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 40, 0, 0, 0, 1, 0, 0, 0,
    ]);
    const rec = chunks[1] ?? new Uint8Array();
    const v = new DataView(rec.buffer);
    expect(v.getUint32(0, true)).toBe(1_700_000_000);
    expect(v.getUint32(4, true)).toBe(250_000);
    expect(v.getUint32(8, true)).toBe(40); // truncated to snaplen
    expect(v.getUint32(12, true)).toBe(60);
    expect(rec.length).toBe(56);
  });

  it.skipIf(!existsSync('/usr/bin/tshark'))('produces a file tshark reads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pcap-'));
    try {
      const chunks: Uint8Array[] = [];
      const w = new PcapWriter((c) => chunks.push(c));
      w.write(ARP, Date.now());
      const file = join(dir, 'a.pcap');
      writeFileSync(file, Buffer.concat(chunks));
      const out = execFileSync('tshark', ['-r', file], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
      expect(out).toContain('Who has 192.168.65.1? Tell 192.168.65.3');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
