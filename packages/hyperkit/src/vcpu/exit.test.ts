import { describe, expect, it } from 'vitest';
import { Bus } from '../devices/bus.js';
import { decodeExit, KVM_EXIT } from './exit.js';
import { handleExit } from './handle.js';

/** A fake kvm_run area: exit_reason at 8, the exit union at 32. */
function runArea(reason: number, fill: (dv: DataView) => void, size = 3 * 4096): DataView {
  const dv = new DataView(new ArrayBuffer(size));
  dv.setUint32(8, reason, true);
  fill(dv);
  return dv;
}

describe('decodeExit', () => {
  it('decodes port output with its data in the run area', () => {
    const dv = runArea(KVM_EXIT.IO, (d) => {
      d.setUint8(32, 1); // direction: out
      d.setUint8(33, 1); // size
      d.setUint16(34, 0x3f8, true);
      d.setUint32(36, 2, true); // count (rep outsb)
      d.setBigUint64(40, 0x1000n, true); // data_offset
      d.setUint8(0x1000, 0x41);
      d.setUint8(0x1001, 0x42);
    });
    const exit = decodeExit(dv);
    expect(exit).toMatchObject({ kind: 'io-out', port: 0x3f8, size: 1, count: 2 });
    expect(exit.kind === 'io-out' && [...exit.data]).toEqual([0x41, 0x42]);
  });

  it('refuses I/O data that would lie outside the run area', () => {
    const dv = runArea(KVM_EXIT.IO, (d) => {
      d.setUint8(33, 4);
      d.setUint32(36, 0x10000, true);
      d.setBigUint64(40, 0x800n, true);
    });
    expect(decodeExit(dv)).toEqual({ kind: 'unknown', reason: KVM_EXIT.IO });
  });

  it('decodes MMIO reads and writes, internal errors and unknown reasons', () => {
    const w = decodeExit(runArea(KVM_EXIT.MMIO, (d) => {
      d.setBigUint64(32, 0xfee00000n, true);
      d.setUint32(40, 0xdeadbeef, true);
      d.setUint32(48, 4, true);
      d.setUint8(52, 1);
    }));
    expect(w).toMatchObject({ kind: 'mmio-write', address: 0xfee00000n, len: 4 });
    expect(w.kind === 'mmio-write' && [...w.data]).toEqual([0xef, 0xbe, 0xad, 0xde]);
    const ie = decodeExit(runArea(KVM_EXIT.INTERNAL_ERROR, (d) => {
      d.setUint32(32, 1, true);
      d.setUint32(36, 99, true); // ndata beyond 16 is capped
    }));
    expect(ie).toMatchObject({ kind: 'internal-error', suberror: 1 });
    expect(ie.kind === 'internal-error' && ie.data.length).toBe(16);
    expect(decodeExit(runArea(12345, () => {}))).toEqual({ kind: 'unknown', reason: 12345 });
  });
});

describe('handleExit', () => {
  it('dispatches port I/O to the bus, element by element, and reads unclaimed ports as ones', () => {
    const writes: number[][] = [];
    const pio = new Bus('pio');
    pio.insert(0x60, 1, { read: (_o, d) => d.fill(0x1c), write: (_o, d) => writes.push([...d]) }, 'kbd');
    const buses = { pio, mmio: new Bus('mmio') };
    const data = new Uint8Array([1, 2, 3]);
    expect(handleExit({ kind: 'io-out', port: 0x60, size: 1, count: 3, data }, buses)).toEqual({ action: 'continue' });
    expect(writes).toEqual([[1], [2], [3]]);
    const inData = new Uint8Array(2);
    handleExit({ kind: 'io-in', port: 0x60, size: 1, count: 2, data: inData }, buses);
    expect([...inData]).toEqual([0x1c, 0x1c]);
    const none = new Uint8Array(4);
    handleExit({ kind: 'io-in', port: 0x70, size: 4, count: 1, data: none }, buses);
    expect([...none]).toEqual([0xff, 0xff, 0xff, 0xff]);
  });

  it('stops on halt, shutdown and errors', () => {
    const buses = { pio: new Bus('pio'), mmio: new Bus('mmio') };
    expect(handleExit({ kind: 'hlt' }, buses)).toEqual({ action: 'halt' });
    expect(handleExit({ kind: 'shutdown' }, buses)).toEqual({ action: 'shutdown' });
    expect(handleExit({ kind: 'internal-error', suberror: 1, data: [] }, buses)).toMatchObject({
      action: 'error',
      message: expect.stringMatching(/emulation failed/),
    });
  });
});

describe('Bus', () => {
  it('refuses overlapping ranges and accesses that straddle a range end', () => {
    const bus = new Bus('mmio', { maxRanges: 2 });
    const dev = { read: () => {}, write: () => {} };
    bus.insert(0x1000, 0x100, dev, 'a');
    expect(() => bus.insert(0x10ff, 0x10, dev, 'b')).toThrow(/overlaps a/);
    bus.insert(0x1100, 0x100, dev, 'b');
    expect(() => bus.insert(0x3000, 1, dev, 'c')).toThrow(/more than 2/);
    expect(bus.resolve(0x10fe, 2)).toMatchObject({ offset: 0xfe });
    expect(bus.resolve(0x10ff, 2)).toBeUndefined();
    expect(bus.resolve(0x1200, 1)).toBeUndefined();
  });
});
