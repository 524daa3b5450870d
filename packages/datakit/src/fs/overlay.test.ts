import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Store } from '../store/store.js';
import type { OFile } from './overlay.js';
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
