import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Store } from '../store/store.js';
import type { OFile } from './overlay.js';
import { overwrite } from './node.js';
import { Overlay } from './overlay.js';

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

describe('overwrite (a file written in pieces)', () => {
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
    // Doubling: about log2(final size / 4096) + 1 buffers, not one per append.
    expect(reallocations).toBeLessThanOrEqual(12);
  });
});
