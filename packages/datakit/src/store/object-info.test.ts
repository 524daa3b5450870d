import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { deflateSync } from 'node:zlib';
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

  it('refuses delta chains that loop, across packs or within one, at once and without holding files open (CORRUPT_OBJECT)', async () => {
    const gitdir = join(dir, 'loop.git');
    const packDir = join(gitdir, 'objects', 'pack');
    mkdirSync(packDir, { recursive: true });
    const x = 'a1'.repeat(20);
    const y = 'b2'.repeat(20);
    const z = 'c3'.repeat(20);
    writeRefDeltaPack(packDir, [[x, y]]);
    writeRefDeltaPack(packDir, [[y, x]]);
    writeRefDeltaPack(packDir, [[z, z]]);
    const fds = (): number => readdirSync('/proc/self/fd').length;
    const before = fds();
    const reader = new ObjectInfoReader(gitdir);
    for (const oid of [x, y, z]) await expect(reader.info(oid), oid).rejects.toMatchObject({ code: 'CORRUPT_OBJECT' });
    expect(fds()).toBeLessThanOrEqual(before + 1);
    const store = await Store.open({ gitdir, fsync: 'never' });
    await expect(store.objectType(x)).rejects.toMatchObject({ code: 'CORRUPT_OBJECT' });
    await expect(store.blobSize(z)).rejects.toMatchObject({ code: 'CORRUPT_OBJECT' });
  });

  it('reads packs under any name git reads (pack-objects objects/pack/custom), and skips an idx it cannot read', async () => {
    const gitdir = makeRepo();
    const objects = git(gitdir, ['rev-list', '--objects', '--all']);
    const packDir = join(gitdir, 'objects', 'pack');
    mkdirSync(packDir, { recursive: true });
    git(gitdir, ['pack-objects', '-q', join(packDir, 'custom')], objects);
    git(gitdir, ['prune-packed']);
    expect(readdirSync(packDir).every((f) => f.startsWith('custom-'))).toBe(true);
    expect(await expectAgrees(gitdir)).toBeGreaterThan(40);
    const store = await Store.open({ gitdir, fsync: 'never' });
    for (const [oid, info] of gitInfo(gitdir)) {
      expect(await store.objectType(oid)).toBe(info.type);
      if (info.type === 'blob') expect(await store.blobSize(oid)).toBe(info.size);
    }
    // The same objects in a pack with a version 1 idx (isomorphic-git cannot read one either), and a loose blob: the loose one is
    // still told by its header; those only in the v1 pack are 'unknown' (read whole instead).
    const name = git(gitdir, ['pack-objects', '-q', join(dir, 'v1')], objects).trim();
    for (const f of readdirSync(packDir)) rmSync(join(packDir, f));
    execFileSync('cp', [join(dir, `v1-${name}.pack`), join(packDir, `pack-${name}.pack`)]);
    git(gitdir, ['index-pack', '--index-version=1', '-o', join(packDir, `pack-${name}.idx`), join(packDir, `pack-${name}.pack`)]);
    const loose = git(gitdir, ['hash-object', '-w', '--stdin'], 'loose\n').trim();
    const reader = new ObjectInfoReader(gitdir);
    expect(await reader.info(loose)).toEqual({ type: 'blob', size: 6 });
    const want = gitInfo(gitdir);
    const packed = [...want.keys()].find((o) => o !== loose) as string;
    expect(await reader.info(packed)).toBe('unknown');
    expect(await reader.info(loose)).toEqual({ type: 'blob', size: 6 });
  });
});

/** A pack (and its v2 idx) of REF_DELTA entries [id, base id], each inserting 3 bytes into a 3-byte base. */
function writeRefDeltaPack(packDir: string, entries: [string, string][]): void {
  const head = Buffer.alloc(12);
  head.write('PACK', 'latin1');
  head.writeUInt32BE(2, 4);
  head.writeUInt32BE(entries.length, 8);
  const parts = [head];
  const offsets: number[] = [];
  let at = 12;
  for (const [, base] of entries) {
    const delta = deflateSync(Buffer.from([3, 3, 3, 0x61, 0x62, 0x63]));
    const entry = Buffer.concat([Buffer.from([(7 << 4) | 6]), Buffer.from(base, 'hex'), delta]);
    offsets.push(at);
    at += entry.length;
    parts.push(entry);
  }
  const body = Buffer.concat(parts);
  const pack = Buffer.concat([body, createHash('sha1').update(body).digest()]);
  const sorted = entries.map(([oid], i) => ({ oid: Buffer.from(oid, 'hex'), off: offsets[i] as number })).sort((a, b) => Buffer.compare(a.oid, b.oid));
  const fanout = Buffer.alloc(1024);
  for (let b = 0; b < 256; b++) fanout.writeUInt32BE(sorted.filter((e) => (e.oid[0] as number) <= b).length, b * 4);
  const offs = Buffer.alloc(4 * sorted.length);
  sorted.forEach((e, i) => offs.writeUInt32BE(e.off, i * 4));
  const idxBody = Buffer.concat([Buffer.from([0xff, 0x74, 0x4f, 0x63, 0, 0, 0, 2]), fanout, ...sorted.map((e) => e.oid), Buffer.alloc(4 * sorted.length), offs, pack.subarray(-20)]);
  const idx = Buffer.concat([idxBody, createHash('sha1').update(idxBody).digest()]);
  const name = `pack-${createHash('sha1').update(pack).digest('hex')}`;
  writeFileSync(join(packDir, `${name}.pack`), pack);
  writeFileSync(join(packDir, `${name}.idx`), idx);
}
