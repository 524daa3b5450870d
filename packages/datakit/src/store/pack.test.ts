import { execFileSync } from 'node:child_process';
import * as nodeFs from 'node:fs';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodePack, packEntries, packEntry } from './pack.js';
import { objectId } from './object-fs.js';
import { hasGit } from './git.fixture.js';
import { Store } from './store.js';


const author = { name: 'Kitbox Test', email: 'test@kitbox.invalid', timestamp: 1_700_000_000 };
const enc = new TextEncoder();
let dir: string;
let gitdir: string;
let store: Store;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'datakit-pack-'));
  gitdir = join(dir, 'repo.git');
  store = await Store.open({ gitdir });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const gitCli = (...args: string[]): string => execFileSync('git', ['--git-dir', gitdir, ...args], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
const packDir = (): string => join(gitdir, 'objects', 'pack');
const packs = (): string[] => readdirSync(packDir()).filter((f) => f.endsWith('.idx'));
const looseObjects = (): string[] =>
  readdirSync(join(gitdir, 'objects'))
    .filter((d) => /^[0-9a-f]{2}$/.test(d))
    .flatMap((d) => readdirSync(join(gitdir, 'objects', d)).map((f) => `${d}${f}`));
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
/** Waits (up to 5 s) for a merge in flight to finish: the small packs back within the bound. */
async function settled(): Promise<void> {
  for (let i = 0; i < 500 && packs().length > 32; i++) await new Promise((r) => setTimeout(r, 10));
}

/** One commit of `files` (name -> content) on master through a batch, as a transaction commits. */
async function commitBatch(files: Record<string, Uint8Array | string>, parent: string | undefined): Promise<string> {
  const batch = store.batch();
  const entries = [];
  for (const [path, data] of Object.entries(files)) {
    const oid = await store.writeBlob(typeof data === 'string' ? enc.encode(data) : data, batch);
    entries.push({ mode: '100644' as const, path, oid, type: 'blob' as const });
  }
  const tree = await store.writeTree(entries, batch);
  const parents = parent === undefined ? [] : [parent];
  const commit = await store.writeCommit({ tree, parents, message: `files ${Object.keys(files).join(' ')}\n`, author }, batch);
  await store.commitBatch(commit, batch, parents);
  await store.updateBranch('master', parent, commit);
  return commit;
}

describe('pack and idx encoding', () => {
  it('round-trips entries, and git verify-pack accepts the pair (large offsets aside)', () => {
    const objs = [enc.encode('one\n'), enc.encode('two\n'), enc.encode('x'.repeat(5000))].map((c) => ({ oid: objectId('blob', c), c }));
    const entries = objs.map(({ oid, c }) => packEntry(oid, 'blob', c, 1));
    const { name, pack, idx } = encodePack(entries);
    expect(name).toBe(`pack-${pack.subarray(pack.length - 20).toString('hex')}`);
    const back = packEntries(pack, idx);
    expect(back.map((e) => e.oid).sort()).toEqual(objs.map((o) => o.oid).sort());
    for (const e of back) expect(Buffer.from(e.bytes)).toEqual(Buffer.from(entries.find((x) => x.oid === e.oid)?.bytes ?? []));
    if (!hasGit) return;
    nodeFs.mkdirSync(packDir(), { recursive: true });
    nodeFs.writeFileSync(join(packDir(), `${name}.pack`), pack);
    nodeFs.writeFileSync(join(packDir(), `${name}.idx`), idx);
    const verified = gitCli('verify-pack', '-v', join(packDir(), `${name}.idx`));
    for (const o of objs) expect(verified).toContain(o.oid);
    expect(gitCli('cat-file', '-p', objs[0]?.oid ?? '')).toBe('one\n');
  });

  it('refuses a corrupt entry, a mismatched idx and a delta', () => {
    const a = packEntry(objectId('blob', enc.encode('a')), 'blob', enc.encode('a'), 1);
    const b = packEntry(objectId('blob', enc.encode('b')), 'blob', enc.encode('b'), 1);
    const { pack, idx } = encodePack([a, b]);
    const bad = Buffer.from(pack);
    (bad[14] as number) ^= 0xff;
    expect(() => packEntries(bad, idx)).toThrow(/CRC-32/);
    expect(() => packEntries(encodePack([a]).pack, idx)).toThrow(/does not match/);
    const delta = Buffer.from(pack);
    delta[12] = ((delta[12] as number) & 0x8f) | (7 << 4);
    expect(() => packEntries(delta, idx)).toThrow(/delta/);
  });
});

describe.skipIf(!hasGit)('a commit written as one pack', () => {
  it('writes one pack and idx and no loose object; git fsck --strict, git log and isomorphic-git read it', async () => {
    const c1 = await commitFile();
    expect(looseObjects()).toEqual([]);
    expect(packs()).toHaveLength(1);
    const c2 = await commitBatch({ a: 'changed\n', b: 'new\n' }, c1);
    expect(looseObjects()).toEqual([]);
    expect(packs()).toHaveLength(2);
    gitCli('fsck', '--strict', '--no-dangling');
    expect(gitCli('log', '--format=%H', 'master').trim().split('\n')).toEqual([c2, c1]);
    expect(gitCli('show', 'master:b')).toBe('new\n');
    // isomorphic-git, and a store that did not write them, read the packed objects.
    const { commit } = await git.readCommit({ fs: nodeFs, gitdir, oid: c2 });
    expect(commit.parent).toEqual([c1]);
    const fresh = await Store.open({ gitdir });
    const tree = await fresh.readTree(commit.tree);
    expect(tree.map((e) => e.path)).toEqual(['a', 'b']);
    expect(new TextDecoder().decode(await fresh.readBlob(tree[1]?.oid ?? ''))).toBe('new\n');
    expect(await fresh.objectType(c1)).toBe('commit');
  });

  it('writes a lone object, and objects of 64 KiB and more, loose; the rest still as one pack', async () => {
    const big = new Uint8Array(70_000).fill(65);
    const c1 = await commitBatch({ big, small: 'small\n' }, undefined);
    expect(looseObjects()).toEqual([objectId('blob', big)]);
    expect(packs()).toHaveLength(1);
    // A commit of the same tree: only the commit object is new, and it goes loose.
    const batch = store.batch();
    const c2 = await store.writeCommit({ tree: (await store.readCommit(c1)).tree, parents: [c1], message: 'again\n', author }, batch);
    await store.commitBatch(c2, batch, [c1]);
    await store.updateBranch('master', c1, c2);
    expect(looseObjects().sort()).toEqual([objectId('blob', big), c2].sort());
    expect(packs()).toHaveLength(1);
    gitCli('fsck', '--strict', '--no-dangling');
    expect(gitCli('cat-file', '-s', `master:big`).trim()).toBe('70000');
  });

  it("'always' fsyncs the pack, its idx and objects/pack/ before the ref moves", async () => {
    const before = store.fsyncs;
    await commitFile();
    // pack, idx, objects/pack/, then the lock file and refs/heads/.
    expect(store.fsyncs - before).toBe(5);
  });

  it('keeps at most 32 small packs: merges the smallest, copying their entries; git and a fresh store read everything', async () => {
    const commits: string[] = [];
    let head: string | undefined;
    for (let i = 0; i < 120; i++) {
      head = await commitBatch({ [`f${i % 5}`]: `content ${i}\n`, n: `${i}\n` }, head);
      commits.push(head);
      // The server's event loop turns between requests; merges run there (a merge
      // waiting for its fsyncs lets a few more commits in meanwhile).
      await turn();
      expect(packs().length).toBeLessThanOrEqual(48);
    }
    await settled();
    expect(packs().length).toBeLessThanOrEqual(32);
    expect(store.packMerges).toBeGreaterThan(0);
    expect(looseObjects()).toEqual([]);
    // Nothing but packs, their indexes and no leftovers in objects/pack.
    expect(readdirSync(packDir()).every((f) => /^pack-[0-9a-f]{40}\.(pack|idx)$/.test(f))).toBe(true);
    gitCli('fsck', '--strict', '--no-dangling');
    expect(gitCli('rev-list', 'master').trim().split('\n')).toEqual([...commits].reverse());
    // Reads still work in this store (its caches of merged-away packs dropped) and in a fresh one.
    for (const s of [store, await Store.open({ gitdir })]) {
      const first = await s.readCommit(commits[0] ?? '');
      const t = await s.readTree(first.tree);
      expect(new TextDecoder().decode(await s.readBlob(t.find((e) => e.path === 'f0')?.oid ?? ''))).toBe('content 0\n');
    }
    const { commit } = await git.readCommit({ fs: nodeFs, gitdir, oid: commits[7] ?? '' });
    expect(commit.parent).toEqual([commits[6]]);
  });

  it('a merge cut short (new pack in place, old ones not yet removed) or a pack without its idx leaves a repository git accepts', async () => {
    let head: string | undefined;
    for (let i = 0; i < 3; i++) head = await commitBatch({ f: `${i}\n`, g: `g${i}\n` }, head);
    const names = packs().map((f) => f.replace(/\.idx$/, ''));
    // The merged pack, written, and every old pack still there: objects twice over.
    const merged = encodePack(
      names.flatMap((n) => packEntries(readFileSync(join(packDir(), `${n}.pack`)), readFileSync(join(packDir(), `${n}.idx`)))),
    );
    nodeFs.writeFileSync(join(packDir(), `${merged.name}.pack`), merged.pack);
    nodeFs.writeFileSync(join(packDir(), `${merged.name}.idx`), merged.idx);
    // A commit's pack written, its idx not yet renamed into place (a kill between the two).
    copyFileSync(join(packDir(), `${names[0]}.pack`), join(packDir(), 'tmp_obj_dead_0'));
    gitCli('fsck', '--strict', '--no-dangling');
    // A store opened on it goes on, and merges such packs like its own.
    store = await Store.open({ gitdir });
    for (let i = 3; i < 50; i++) {
      head = await commitBatch({ f: `${i}\n`, g: `g${i}\n` }, head);
      await turn();
    }
    await settled();
    expect(store.packMerges).toBeGreaterThan(0);
    expect(packs().length).toBeLessThanOrEqual(32);
    gitCli('fsck', '--strict', '--no-dangling');
    expect(gitCli('rev-list', '--count', 'master').trim()).toBe('50');
  });
});

/** A first commit of two files on master. */
function commitFile(): Promise<string> {
  return commitBatch({ a: 'one\n' }, undefined);
}
