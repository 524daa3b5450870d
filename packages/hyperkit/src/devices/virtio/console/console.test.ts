import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../../../memory/guest-memory.js';
import { VirtioPciTransport } from '../pci.js';
import { VIRTQ_DESC_F_WRITE } from '../queue.js';
import { VirtioConsole } from './console.js';

describe('virtio-console', () => {
  it('passes guest output to the sink and host input into the guest, bounded', () => {
    const bytes = new Uint8Array(1 << 20);
    const dv = new DataView(bytes.buffer);
    const mem = new GuestMemory([{ gpa: 0, hostAddress: 0n, bytes }]);
    const out: string[] = [];
    const con = new VirtioConsole((d) => out.push(new TextDecoder().decode(d)), 8);
    const t = new VirtioPciTransport(con, mem, { msi: () => undefined });
    const w = (off: number, n: number, v: number): void => t.write(off, Uint8Array.from({ length: n }, (_, i) => Math.floor(v / 256 ** i) & 0xff));
    w(8, 4, 1);
    w(12, 4, 1);
    w(20, 1, 11);
    // Queue 0 (receive) at 0x10000.., queue 1 (transmit) at 0x20000..
    for (const [q, base] of [[0, 0x10000], [1, 0x20000]] as const) {
      w(22, 2, q);
      w(24, 2, 4);
      w(32, 4, base);
      w(40, 4, base + 0x1000);
      w(48, 4, base + 0x2000);
      w(28, 2, 1);
    }
    w(20, 1, 15);
    // Input before the guest offers buffers is kept, only the newest 8 bytes.
    con.input(new TextEncoder().encode('0123'));
    con.input(new TextEncoder().encode('456789ab'));
    expect(con.droppedInput).toBe(4);
    // The guest offers one 16-byte receive buffer.
    dv.setBigUint64(0x10000, 0x30000n, true);
    dv.setUint32(0x10008, 16, true);
    dv.setUint16(0x1000c, VIRTQ_DESC_F_WRITE, true);
    dv.setUint16(0x11004, 0, true);
    dv.setUint16(0x11002, 1, true);
    w(0x3000 + 4 * 0, 2, 0);
    expect(dv.getUint32(0x12008, true)).toBe(8);
    expect(new TextDecoder().decode(bytes.subarray(0x30000, 0x30008))).toBe('456789ab');
    // The guest transmits "hello".
    bytes.set(new TextEncoder().encode('hello'), 0x40000);
    dv.setBigUint64(0x20000, 0x40000n, true);
    dv.setUint32(0x20008, 5, true);
    dv.setUint16(0x21004, 0, true);
    dv.setUint16(0x21002, 1, true);
    w(0x3000 + 4 * 1, 2, 1);
    expect(out).toEqual(['hello']);
  });
});
