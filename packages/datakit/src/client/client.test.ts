/** The client against the server over a Unix socket, checked with the git CLI. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listen } from '@kitbox/p9p';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatakitError } from '../errors.js';
import { DatakitFs } from '../fs/server.js';
import { DatakitClient } from './client.js';

const dec = new TextDecoder();
let dir: string;
let gitdir: string;
let server: Server;
let address: string;
const clients: DatakitClient[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'datakit-client-'));
  gitdir = join(dir, 'repo.git');
  const fs = await DatakitFs.open({ gitdir });
  address = `unix!${join(dir, 'dk.sock')}`;
  server = await listen({ address, onConnection: (s) => void fs.serve(s) });
});
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function connect(): Promise<DatakitClient> {
  const c = await DatakitClient.connect({ address });
  clients.push(c);
  return c;
}
const git = (...args: string[]): string => execFileSync('git', ['--git-dir', gitdir, ...args], { encoding: 'utf8' });

describe('DatakitClient', () => {
  it("refuses '..' and '.' in paths and bad names: a path in rw/ cannot reach another branch", async () => {
    const dk = await connect();
    const master = dk.branch({ name: 'master' });
    await master.create();
    await dk.branch({ name: 'victim' }).create();
    const t = await master.transaction();
    await t.write({ path: 'a', data: 'x' });
    for (const op of [
      () => t.remove({ path: '../../../../branch/victim' }),
      () => t.read({ path: '../../../branch/victim/head' }),
      () => t.write({ path: 'x/../../y', data: 'z' }),
      () => t.read({ path: './a' }),
      () => t.read({ path: '' }),
      () => master.read({ path: '../head' }),
      () => master.transaction({ name: '..' }),
    ]) {
      await expect(op()).rejects.toMatchObject({ code: 'EINVAL' });
    }
    expect(() => dk.branch({ name: '../branch/victim' })).toThrow(DatakitError);
    expect(await dk.branches()).toEqual(['master', 'victim']);
    // Empty components are only separators.
    expect(dec.decode(await t.read({ path: '//a/' }))).toBe('x');
  });

  it('creates a branch, commits files in a transaction, reads them back', async () => {
    const dk = await connect();
    const master = dk.branch({ name: 'master' });
    await master.create();
    await master.create(); // idempotent
    expect(await master.head()).toBeUndefined();
    const t = await master.transaction();
    await t.write({ path: 'config/greeting', data: 'hello\n' });
    await t.write({ path: 'bin/run', data: '#!/bin/sh\n', executable: true });
    const head = await t.commit({ message: 'greet\n' });
    expect(await master.head()).toBe(head);
    expect(dec.decode(await master.read({ path: 'config/greeting' }))).toBe('hello\n');
    expect(dec.decode(await dk.readSnapshot({ commit: head, path: 'bin/run' }))).toBe('#!/bin/sh\n');
    expect(git('ls-tree', '-r', '--format=%(objectmode) %(path)', head).trim().split('\n')).toEqual(['100755 bin/run', '100644 config/greeting']);
    expect(git('log', '-1', '--format=%s', 'master').trim()).toBe('greet');
    expect(await dk.branches()).toEqual(['master']);
  });

  it("throws datakit's error text: merge conflicts, not-fast-forward", async () => {
    const a = await connect();
    const b = await connect();
    const master = a.branch({ name: 'master' });
    await master.create();
    const t0 = await master.transaction();
    await t0.write({ path: 'f', data: 'base' });
    const base = await t0.commit({ message: 'base' });
    const ta = await master.transaction();
    const tb = await b.branch({ name: 'master' }).transaction();
    await ta.write({ path: 'f', data: 'a' });
    await tb.write({ path: 'f', data: 'b' });
    const ha = await ta.commit({ message: 'a' });
    const err = await tb.commit({ message: 'b' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatakitError);
    expect(err).toMatchObject({ code: 'EPERM', message: 'Merge conflict: f: Changed on both branches' });
    await tb.close();
    await a.branch({ name: 'other' }).create();
    await a.branch({ name: 'other' }).fastForward({ commit: ha });
    await expect(a.branch({ name: 'other' }).fastForward({ commit: base })).rejects.toMatchObject({ code: 'EPERM', message: 'not-fast-forward' });
  });

  it('watchHead yields the head, then each commit made by another client', async () => {
    const watcher = await connect();
    const writer = await connect();
    const master = writer.branch({ name: 'master' });
    await master.create();
    const ac = new AbortController();
    const it = watcher.branch({ name: 'master' }).watchHead({ signal: ac.signal });
    expect((await it.next()).value).toBeUndefined();
    const t = await master.transaction();
    await t.write({ path: 'x', data: '1' });
    const h = await t.commit({ message: 'x' });
    expect((await it.next()).value).toBe(h);
    ac.abort();
    await expect(it.next()).rejects.toThrow();
  });

  it('transaction merge reports conflicts', async () => {
    const dk = await connect();
    const master = dk.branch({ name: 'master' });
    await master.create();
    const t0 = await master.transaction();
    await t0.write({ path: 'f', data: 'base' });
    const base = await t0.commit({ message: 'base' });
    const topic = dk.branch({ name: 'topic' });
    await topic.create();
    await topic.fastForward({ commit: base });
    const t1 = await topic.transaction();
    await t1.write({ path: 'f', data: 'topic' });
    const theirs = await t1.commit({ message: 'topic' });
    const t2 = await master.transaction();
    await t2.write({ path: 'f', data: 'master' });
    expect(await t2.merge({ commit: theirs })).toEqual(['f']);
    await t2.write({ path: 'f', data: 'resolved' });
    const merged = await t2.commit({ message: 'merge topic' });
    expect(git('rev-list', '--parents', '-n', '1', merged).trim().split(' ')).toHaveLength(3);
    expect(dec.decode(await master.read({ path: 'f' }))).toBe('resolved');
  });
});
