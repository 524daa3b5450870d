import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as nodeFs from 'node:fs';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ObjectWriteFs } from './object-fs.js';
import { objectFs, writeLooseObject } from './object-fs.js';
import { STORED_BELOW, zlibStoredLength } from './zlib.js';
import type { TreeEntry } from './store.js';
import { Store } from './store.js';

let dir: string;
let gitdir: string;
let store: Store;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'datakit-objfs-'));
  gitdir = join(dir, 'repo.git');
  store = await Store.open({ gitdir });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** node's fs, except that every file write stops half way and the writer "dies" (no cleanup). */
const dying: ObjectWriteFs = {
  openSync: (path, flags, mode) => nodeFs.openSync(path, flags, mode),
  writeSync(fd, data) {
    nodeFs.writeSync(fd, data.subarray(0, data.length >> 1));
    throw new Error('killed');
  },
  closeSync: (fd) => nodeFs.closeSync(fd),
  renameSync: (a, b) => nodeFs.renameSync(a, b),
  mkdirSync: (p, o) => nodeFs.mkdirSync(p, o),
  rmSync: () => {
    throw new Error('dead writers do not clean up');
  },
};

const gitCli = (...args: string[]): string => execFileSync('git', ['--git-dir', gitdir, ...args], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
const objectPath = (oid: string): string => join(gitdir, 'objects', oid.slice(0, 2), oid.slice(2));
const enc = new TextEncoder();

/** Writes a tree through the store and checks that `git mktree` gives it the same id. */
async function writeTreeAsGit(entries: readonly TreeEntry[]): Promise<string> {
  const oid = await store.writeTree(entries);
  const mktree = entries.map((e) => `${e.mode} ${e.type} ${e.oid}\t${e.path}\n`).join('');
  expect(execFileSync('git', ['--git-dir', gitdir, 'mktree'], { input: mktree, encoding: 'utf8' }).trim()).toBe(oid);
  return oid;
}

describe('loose objects are written whole', () => {
  it('a writer that dies mid-write leaves no object under its name; git fsck is clean; a retry writes it', async () => {
    const blob = enc.encode('some content that a dying writer cuts in half\n'.repeat(20));
    await expect(writeLooseObject(gitdir, 'blob', blob, dying)).rejects.toThrow('killed');
    // Only git's kind of temporary file is left, and git ignores it.
    const fanout = readdirSync(join(gitdir, 'objects')).filter((d) => /^[0-9a-f]{2}$/.test(d));
    expect(fanout).toHaveLength(1);
    expect(readdirSync(join(gitdir, 'objects', fanout[0] ?? ''))).toEqual([expect.stringMatching(/^tmp_obj_/)]);
    gitCli('fsck', '--strict');
    const oid = await store.writeBlob(blob);
    expect(gitCli('cat-file', 'blob', oid)).toBe(new TextDecoder().decode(blob));
    gitCli('fsck', '--strict');
  });

  it('an empty object file (a power cut before its fsync) counts as absent and is written again', async () => {
    const blob = enc.encode('lost in a power cut\n');
    const want = execFileSync('git', ['hash-object', '--stdin'], { input: blob, encoding: 'utf8' }).trim();
    mkdirSync(join(gitdir, 'objects', want.slice(0, 2)), { recursive: true });
    writeFileSync(objectPath(want), '');
    expect(await store.writeBlob(blob)).toBe(want);
    expect(statSync(objectPath(want)).size).toBeGreaterThan(0);
    expect(gitCli('cat-file', 'blob', want)).toBe('lost in a power cut\n');

    // The same for what isomorphic-git writes through objectFs (a commit).
    const tree = await store.writeTree([{ mode: '100644', path: 'f', oid: want, type: 'blob' }]);
    const commit = { tree, parent: [], message: 'm\n', author: { name: 'a', email: 'a@a', timestamp: 1_700_000_000, timezoneOffset: 0 } };
    const c = await git.writeCommit({ fs: objectFs(), gitdir, commit: { ...commit, committer: commit.author } });
    writeFileSync(objectPath(c), '');
    expect(await git.writeCommit({ fs: objectFs(), gitdir, commit: { ...commit, committer: commit.author } })).toBe(c);
    expect(gitCli('cat-file', '-t', c)).toBe('commit\n');
    gitCli('fsck', '--strict');
  });

  it('trees are sorted as git sorts them and get the ids git mktree gives', async () => {
    const blob = await store.writeBlob(enc.encode('x\n'));
    const sub = await store.writeTree([{ mode: '100644', path: 'inner', oid: blob, type: 'blob' }]);
    const entries = [
      { mode: '040000', path: 'a', oid: sub, type: 'tree' },
      { mode: '100755', path: 'a.txt', oid: blob, type: 'blob' },
      { mode: '100644', path: 'a-b', oid: blob, type: 'blob' },
      { mode: '120000', path: 'link', oid: blob, type: 'blob' },
      { mode: '100644', path: 'é', oid: blob, type: 'blob' },
    ] as const;
    const oid = await writeTreeAsGit(entries);
    expect(gitCli('ls-tree', '--name-only', oid).trim().split('\n')).toEqual(['a-b', 'a.txt', 'a', 'link', '"\\303\\251"']);
    expect(await store.readTree(oid)).toHaveLength(5);
    gitCli('fsck', '--strict');
    await expect(store.writeTree([{ mode: '100644', path: 'x', oid: blob, type: 'blob' }, { mode: '100644', path: 'x', oid: blob, type: 'blob' }])).rejects.toMatchObject({
      code: 'INVALID_NAME',
    });
    await expect(store.writeTree([{ mode: '100644', path: 'x', oid: 'nope', type: 'blob' }])).rejects.toMatchObject({ code: 'INVALID_HASH' });
    // A file and a tree of one name are not neighbours in git's order ("a", "a-b", "a/").
    await expect(
      store.writeTree([
        { mode: '100644', path: 'a', oid: blob, type: 'blob' },
        { mode: '100644', path: 'a-b', oid: blob, type: 'blob' },
        { mode: '040000', path: 'a', oid: sub, type: 'tree' },
      ]),
    ).rejects.toMatchObject({ code: 'INVALID_NAME' });
  });

  it('orders names by their UTF-8 bytes, as git does, where UTF-16 order differs (astral characters)', async () => {
    const blob = await store.writeBlob(enc.encode('x\n'));
    const entries = [
      { mode: '100644', path: '\u{1f600}', oid: blob, type: 'blob' },
      { mode: '100644', path: '\uff5e', oid: blob, type: 'blob' },
      { mode: '100644', path: 'z', oid: blob, type: 'blob' },
    ] as const;
    await writeTreeAsGit(entries);
    gitCli('fsck', '--strict');
  });
});

describe('large objects', () => {
  it('are written a mebibyte at a time, with other work let in between, and whole', async () => {
    const body = new Uint8Array(randomBytes(3 * (1 << 20) + 5));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const writes: number[] = [];
    const counting: ObjectWriteFs = {
      ...nodeFs,
      writeSync: (fd, data) => {
        writes.push(data.length);
        return nodeFs.writeSync(fd, data);
      },
    };
    try {
      // Random bytes barely deflate: the file is over 3 MiB.
      const oid = await writeLooseObject(gitdir, 'blob', body, counting);
      expect(writes.length).toBeGreaterThanOrEqual(4);
      expect(Math.max(...writes)).toBeLessThanOrEqual(1 << 20);
      expect(gitCli('cat-file', '-s', oid).trim()).toBe(String(body.length));
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(0);
  });
});

describe('compression', () => {
  it("stores small loose objects (zlib stored blocks), deflates the rest at git's loose-object level (1); git reads both", async () => {
    const { inflateSync, deflateSync } = await import('node:zlib');
    for (const size of [40, STORED_BELOW - 20, STORED_BELOW, 200_000]) {
      const body = enc.encode('compressible text, said twice. '.repeat(Math.ceil(size / 31)).slice(0, size));
      const oid = await store.writeBlob(body);
      const file = nodeFs.readFileSync(objectPath(oid));
      const raw = Buffer.concat([Buffer.from(`blob ${body.length}\0`), body]);
      expect(inflateSync(file)).toEqual(raw);
      // zlib's header says which level: FLEVEL 0 (fastest) for level 1, where the default is 2.
      expect(file[1]! >> 6).toBe(0);
      if (raw.length < STORED_BELOW) {
        expect(file.length).toBe(zlibStoredLength(raw.length));
        expect(file[2]! & 0x07).toBe(1); // one block, BFINAL, BTYPE 00 (stored)
      } else {
        expect(file.length).toBe(deflateSync(raw, { level: 1 }).length);
      }
      expect(gitCli('cat-file', '-s', oid).trim()).toBe(String(body.length));
    }
    gitCli('fsck', '--strict');
  });
});
