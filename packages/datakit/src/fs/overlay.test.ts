import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Store } from '../store/store.js';
import type { OFile } from './overlay.js';
import { heldBytes, overwrite } from './node.js';
import { Overlay, SharedBudget } from './overlay.js';

const enc = new TextEncoder();
let dir: string;
let store: Store;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'datakit-overlay-'));
  store = await Store.open({ gitdir: join(dir, 'repo.git') });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('Overlay.setData', () => {
  it('replaces a file still as git has it without reading its blob, and counts only the new bytes', async () => {
    const blob = await store.writeBlob(enc.encode('old contents, never needed\n'));
    const tree = await store.writeTree([{ mode: '100644', path: 'f', oid: blob, type: 'blob' }]);
    const ov = new Overlay(store, tree, { maxBytes: 10 });
    const readBlob = vi.spyOn(store, 'readBlob');
    const f = (await ov.lookup(ov.root, 'f')) as OFile;
    // What an open with O_TRUNC and a write do.
    await ov.setData(f, new Uint8Array(0));
    await ov.setData(f, enc.encode('new\n'));
    expect(readBlob).not.toHaveBeenCalled();
    expect(ov.bytes).toBe(4);
    // A changed file is counted by what it holds: growing it past maxBytes is refused.
    await expect(ov.setData(f, enc.encode('0123456789ab'))).rejects.toMatchObject({ code: 'ENOSPC' });
    const { tree: next } = await ov.writeTree();
    expect(new TextDecoder().decode(await store.readBlob((await store.readTree(next))[0]?.oid ?? ''))).toBe('new\n');
  });
});

describe('Overlay budgets', () => {
  it('a change still under way when the transaction closes neither charges nor gives back the shared budget', async () => {
    const shared = new SharedBudget(1 << 20);
    const ov = new Overlay(store, undefined, { shared });
    const g = await ov.createFile(ov.root, 'g', false);
    await ov.setData(g, new Uint8Array(100));
    expect(shared.used).toBe(100 + 128 + 1);
    // A changed file's bytes are read first (an await): the transaction closes meanwhile.
    const pending = ov.setData(g, new Uint8Array(5000));
    ov.release();
    expect(shared.used).toBe(0);
    await expect(pending).rejects.toMatchObject({ code: 'ENOENT' });
    // Before: the 5000 bytes stayed charged to the server for good (and a late unlink gave back bytes twice).
    expect(shared.used).toBe(0);
    await expect(ov.unlink(ov.root, 'g', false)).resolves.toBeUndefined();
    expect(shared.used).toBe(0);
    ov.release();
    expect(shared.used).toBe(0);
  });

  it('the room a growing file keeps is counted: a thousand one-byte files do not take 4 KiB each', async () => {
    const shared = new SharedBudget(1 << 30);
    const ov = new Overlay(store, undefined, { shared });
    for (let i = 0; i < 1000; i++) {
      const f = await ov.createFile(ov.root, `f${i}`, false);
      await ov.setData(f, overwrite(await ov.read(f), 0, new Uint8Array([i & 0xff])));
    }
    expect(ov.bytes).toBe(1000 * 1 + 1000 * 128 + [...Array(1000).keys()].reduce((n, i) => n + `f${i}`.length, 0));
    expect(shared.used).toBe(ov.bytes);
  });
});

describe('overwrite (a file written in pieces)', () => {
  it('a gap past the end reads as zeros even where a refused write had put bytes in the spare room', () => {
    const a = overwrite(new Uint8Array(0), 0, new Uint8Array(10).fill(1)); // exactly 10
    const b = overwrite(a, 10, new Uint8Array([2])); // second growth: room for 20
    expect(heldBytes(b)).toBe(20);
    const refused = overwrite(b, 11, new Uint8Array([9, 9, 9, 9])); // written in place, then dropped
    expect(refused.buffer).toBe(b.buffer);
    const d = overwrite(b, 18, new Uint8Array([5]));
    expect(Array.from(d)).toEqual([...Array(10).fill(1), 2, 0, 0, 0, 0, 0, 0, 0, 5]);
  });

  it('appends in place once grown: copies stay linear; gaps read as zeros; the result matches a plain model', () => {
    let data: Uint8Array = new Uint8Array(0);
    const model: number[] = [];
    let reallocations = 0;
    let seed = 7;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
    for (let i = 0; i < 2000; i++) {
      // Mostly appends (some past the end, leaving a gap), some writes inside.
      const offset = rnd(10) === 0 ? rnd(Math.max(1, data.length)) : data.length + (rnd(5) === 0 ? rnd(100) : 0);
      const piece = new Uint8Array(1 + rnd(300)).map(() => 1 + rnd(255));
      const before = data.buffer;
      data = overwrite(data, offset, piece);
      if (data.buffer !== before) reallocations++;
      while (model.length < offset) model.push(0);
      for (let k = 0; k < piece.length; k++) model[offset + k] = piece[k] as number;
    }
    expect(Array.from(data)).toEqual(model);
    // Exact at first, then doubling: about log2(final size / first write) buffers, not one per append.
    expect(reallocations).toBeLessThanOrEqual(16);
  });
});
