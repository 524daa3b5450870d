// LocalFs's own bounds against a client with a large directory or a deep tree:
// the listings kept for open directories share one budget, and a request holds
// one directory fd however deep its path.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { P9_SETATTR_MODE } from '../codec/constants.js';
import { LocalFs, type LocalFid } from './local.js';

let root = '';
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'p9p-bounds-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const fdCount = (): number => readdirSync('/proc/self/fd').length;

describe('LocalFs bounds', () => {
  it('directory listings of open fids stay within maxListingBytes; a fid whose listing was dropped still reads on', async () => {
    mkdirSync(join(root, 'd'));
    for (let i = 0; i < 2000; i++) writeFileSync(join(root, 'd', `f${String(i).padStart(4, '0')}`), '');
    const budget = 300_000; // each listing of 2,002 entries counts ~138 KB
    const fs = new LocalFs({ root, maxListingBytes: budget });
    const top = fs.attach({ aname: '' }).node;
    const openDir = (): LocalFid => fs.lopen(fs.walk(top, ['d']).node as LocalFid, 0).node;
    const first = openDir();
    const names = new Set<string>();
    let cookie = 0n;
    let page = await fs.readdir(first, cookie, 4096);
    const others: LocalFid[] = [];
    while (page.length > 0) {
      for (const e of page) names.add(e.name);
      cookie = page[page.length - 1]!.offset;
      // Another client lists the same directory between each of our pages.
      const o = openDir();
      others.push(o);
      await fs.readdir(o, 0n, 4096);
      // Before the bound, each of these kept its whole listing: memory grew with every fid.
      expect(fs.listingMemory).toBeLessThanOrEqual(budget);
      page = await fs.readdir(first, cookie, 4096);
    }
    expect(others.length).toBeGreaterThan(10);
    expect(names.size).toBe(2002);
    for (const o of [first, ...others]) fs.clunk(o);
    expect(fs.listingMemory).toBe(0);
    expect(fs.openFiles).toBe(0);
    fs.close();
  });

  it('a listing larger than the whole budget is not kept: it does not push out the others', async () => {
    mkdirSync(join(root, 'small'));
    writeFileSync(join(root, 'small', 'a'), '');
    mkdirSync(join(root, 'big'));
    for (let i = 0; i < 500; i++) writeFileSync(join(root, 'big', `f${String(i).padStart(3, '0')}`), '');
    const fs = new LocalFs({ root, maxListingBytes: 10_000 }); // the big listing counts ~35 KB
    const top = fs.attach({ aname: '' }).node;
    const small = fs.lopen(fs.walk(top, ['small']).node as LocalFid, 0).node;
    await fs.readdir(small, 0n, 4096);
    const kept = fs.listingMemory;
    expect(kept).toBeGreaterThan(0);
    const big = fs.lopen(fs.walk(top, ['big']).node as LocalFid, 0).node;
    const names = new Set<string>();
    let cookie = 0n;
    for (let page = await fs.readdir(big, 0n, 2048); page.length > 0; page = await fs.readdir(big, cookie, 2048)) {
      for (const e of page) names.add(e.name);
      cookie = page[page.length - 1]!.offset;
      expect(fs.listingMemory).toBe(kept);
    }
    expect(names.size).toBe(502);
    fs.clunk(small);
    fs.clunk(big);
    expect(fs.listingMemory).toBe(0);
    fs.close();
  });

  it('a request on a path 200 directories deep holds one directory fd, not 200', async () => {
    const parts = Array.from({ length: 200 }, (_, i) => `d${i}`);
    mkdirSync(join(root, ...parts), { recursive: true });
    writeFileSync(join(root, ...parts, 'f'), 'x');
    const fs = new LocalFs({ root });
    const top = fs.attach({ aname: '' }).node;
    let node = top;
    for (let i = 0; i < parts.length; i += 16) node = fs.walk(node, parts.slice(i, i + 16)).node as LocalFid;
    const file = fs.walk(node, ['f']).node as LocalFid;
    const before = fdCount();
    // Twenty setattrs at once: each has opened its directory (synchronously) when the call returns.
    const pending = Array.from({ length: 20 }, () => fs.setattr(file, { valid: P9_SETATTR_MODE, mode: 0o600, uid: 0, gid: 0, size: 0n, atimeSec: 0n, atimeNsec: 0n, mtimeSec: 0n, mtimeNsec: 0n }));
    const during = fdCount() - before;
    await Promise.all(pending);
    // Before the fix: 20 x 200 = 4,000 fds open at once.
    expect(during).toBeLessThanOrEqual(40);
    expect(fdCount()).toBeLessThanOrEqual(before);
    fs.close();
  });
});
