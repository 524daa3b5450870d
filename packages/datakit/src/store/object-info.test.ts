import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasGit } from './git.fixture.js';
import { ObjectInfoReader } from './object-info.js';
import { Store } from './store.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'datakit-info-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const git = (gitdir: string, args: string[], input?: string | Buffer): string =>
  execFileSync('git', ['--git-dir', gitdir, ...args], {
    input,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@kitbox.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@kitbox.invalid' },
  });

/** A repository with blobs of many sizes, alike enough for git to store most as deltas. */
function makeRepo(): string {
  const gitdir = join(dir, 'repo.git');
  git(gitdir, ['init', '-q', '--bare']);
  // Each version one edit away from the one before: git stores them as delta chains.
  let big = Buffer.from(randomBytes(150_000).toString('base64'));
  let parent: string | undefined;
  for (let i = 0; i < 12; i++) {
    const files: [string, string][] = [
      ['big', (big = Buffer.concat([big.subarray(0, i * 9000), Buffer.from(`edit ${i}`), big.subarray(i * 9000 + 3)])).toString('latin1')],
      ['small', `line ${i}\n`.repeat(i)],
      ['empty', ''],
      ['random', randomBytes(3000 + i).toString('latin1')],
    ];
    const rows = files.map(([name, body]) => {
      const tmp = join(dir, 'body');
      writeFileSync(tmp, body, 'latin1');
      return `100644 blob ${git(gitdir, ['hash-object', '-w', tmp]).trim()}\t${name}`;
    });
    const tree = git(gitdir, ['mktree'], `${rows.join('\n')}\n`).trim();
    parent = git(gitdir, ['commit-tree', tree, '-m', `c${i}`, ...(parent ? ['-p', parent] : [])]).trim();
  }
  git(gitdir, ['update-ref', 'refs/heads/master', parent as string]);
  return gitdir;
}

/** Every object's type and size as git tells them. */
function gitInfo(gitdir: string): Map<string, { type: string; size: number }> {
  const out = git(gitdir, ['cat-file', '--batch-all-objects', '--batch-check=%(objectname) %(objecttype) %(objectsize)']);
  const m = new Map<string, { type: string; size: number }>();
  for (const line of out.trim().split('\n')) {
    const [oid, type, size] = line.split(' ');
    m.set(oid as string, { type: type as string, size: Number(size) });
  }
  return m;
}

async function expectAgrees(gitdir: string): Promise<number> {
  const reader = new ObjectInfoReader(gitdir);
  const want = gitInfo(gitdir);
  for (const [oid, info] of want) expect(await reader.info(oid), oid).toEqual(info);
  return want.size;
}

const packTypes = (gitdir: string): string => {
  const idx = readdirSync(join(gitdir, 'objects', 'pack')).find((f) => f.endsWith('.idx')) as string;
  return git(gitdir, ['verify-pack', '-v', join(gitdir, 'objects', 'pack', idx)]);
};

describe.skipIf(!hasGit)('ObjectInfoReader: type and size without reading the object', () => {
  it('agrees with git cat-file on loose objects (stored, deflated, empty)', async () => {
    expect(await expectAgrees(makeRepo())).toBeGreaterThan(40);
  });

  it('agrees on packed objects stored as OFS_DELTA chains (git gc --aggressive)', async () => {
    const gitdir = makeRepo();
    git(gitdir, ['gc', '-q', '--aggressive', '--prune=now']);
    // The bodies alike: most of `big` and `small` are deltas, some several deep.
    expect(packTypes(gitdir)).toMatch(/chain length = [2-9]/);
    expect(await expectAgrees(gitdir)).toBeGreaterThan(40);
  });

  it('agrees on REF_DELTA entries and on offsets in the idx 64-bit table', async () => {
    const gitdir = makeRepo();
    const objects = git(gitdir, ['rev-list', '--objects', '--all']);
    // No --delta-base-offset: deltas name their base by id (REF_DELTA).
    const name = git(gitdir, ['pack-objects', '-q', '--window=10', join(dir, 'tmp-pack')], objects).trim();
    const pack = join(dir, `tmp-pack-${name}.pack`);
    // Every offset past 0x100 in the 64-bit table (index-pack's test knob).
    const packDir = join(gitdir, 'objects', 'pack');
    mkdirSync(packDir, { recursive: true });
    execFileSync('cp', [pack, join(packDir, `pack-${name}.pack`)]);
    git(gitdir, ['index-pack', '--index-version=2,0x100', '-o', join(packDir, `pack-${name}.idx`), join(packDir, `pack-${name}.pack`)]);
    git(gitdir, ['prune-packed']);
    expect(readdirSync(join(gitdir, 'objects')).filter((d) => d.length === 2)).toEqual([]);
    expect(packTypes(gitdir)).toMatch(/ 1\n|chain length/);
    expect(await expectAgrees(gitdir)).toBeGreaterThan(40);
  });

  it('says undefined for an absent object and an empty loose file, unknown for a corrupt one', async () => {
    const gitdir = makeRepo();
    const reader = new ObjectInfoReader(gitdir);
    expect(await reader.info('0123456789012345678901234567890123456789')).toBeUndefined();
    const empty = '1111111111111111111111111111111111111111';
    mkdirSync(join(gitdir, 'objects', '11'), { recursive: true });
    writeFileSync(join(gitdir, 'objects', '11', empty.slice(2)), '');
    expect(await reader.info(empty)).toBeUndefined();
    const bad = '2222222222222222222222222222222222222222';
    mkdirSync(join(gitdir, 'objects', '22'), { recursive: true });
    writeFileSync(join(gitdir, 'objects', '22', bad.slice(2)), 'not zlib at all');
    expect(await reader.info(bad)).toBe('unknown');
    // A zlib stream that is not a git object.
    writeFileSync(join(gitdir, 'objects', '22', bad.slice(2)), execFileSync('python3', ['-c', 'import zlib,sys; sys.stdout.buffer.write(zlib.compress(b"x" * 100000))']));
    expect(await reader.info(bad)).toBe('unknown');
  });

  it('Store.blobSize tells a 16 MiB blob size without reading it, and fails like readBlob otherwise', async () => {
    const store = await Store.open({ gitdir: join(dir, 'store.git'), fsync: 'never' });
    const oid = await store.writeBlob(new Uint8Array(16 << 20).fill(1));
    const before = process.memoryUsage().arrayBuffers;
    expect(await store.blobSize(oid)).toBe(16 << 20);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(4 << 20);
    expect(await store.objectType(oid)).toBe('blob');
    const tree = await store.writeTree([{ mode: '100644', path: 'f', oid, type: 'blob' }]);
    await expect(store.blobSize(tree)).rejects.toMatchObject({ code: 'ObjectTypeError' });
    await expect(store.blobSize('0123456789012345678901234567890123456789')).rejects.toMatchObject({ code: 'NotFoundError' });
    // Objects of a commit's pack (Store.commitBatch).
    const batch = store.batch();
    const b2 = await store.writeBlob(new TextEncoder().encode('hello\n'), batch);
    const t2 = await store.writeTree([{ mode: '100644', path: 'h', oid: b2, type: 'blob' }], batch);
    const c2 = await store.writeCommit({ tree: t2, parents: [], message: 'm', author: { name: 'a', email: 'a@b', timestamp: 1 } }, batch);
    await store.commitBatch(c2, batch);
    expect(readdirSync(join(dir, 'store.git', 'objects', 'pack')).some((f) => f.endsWith('.idx'))).toBe(true);
    expect(await store.blobSize(b2)).toBe(6);
    expect(await store.objectType(c2)).toBe('commit');
  });
});
