/**
 * Ten clients, one branch (issue #7): ten 9P connections each open a transaction on the
 * same head, write, and commit at the same moment. As in datakit, a commit onto a branch
 * that moved is merged three-way: writes to distinct paths all land; writes of
 * different contents to one path conflict, and all but the first to commit get
 * "Merge conflict: <path>: ..." as their error. Every acknowledged commit must be in
 * the branch's history, every refused one must have said why, and git must find the
 * repository sound.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listen } from '@kitbox/p9p';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatakitError } from '../errors.js';
import { DatakitFs } from '../fs/server.js';
import { DatakitClient } from './client.js';

let dir: string;
let gitdir: string;
let server: Server;
let address: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'datakit-ten-'));
  gitdir = join(dir, 'repo.git');
  const fs = await DatakitFs.open({ gitdir });
  address = `unix!${join(dir, 'dk.sock')}`;
  server = await listen({ address, onConnection: (s) => void fs.serve(s) });
});
afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

const git = (...args: string[]): string => execFileSync('git', ['--git-dir', gitdir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Commits in `branch`'s history: id, parents and subject. */
function history(branch: string): Array<{ id: string; parents: string[]; subject: string }> {
  return git('log', '--format=%H %P%x00%s', branch)
    .trim()
    .split('\n')
    .map((l) => {
      const [ids = '', subject = ''] = l.split('\0');
      const [id = '', ...parents] = ids.split(' ');
      return { id, parents, subject };
    });
}

describe('ten clients committing to one branch at once', () => {
  for (const round of [1, 2]) {
    it(`round ${round}: distinct paths all merge, one path conflicts for all but one, nothing is lost`, async () => {
      const branch = `b${round}`;
      const setup = await DatakitClient.connect({ address });
      await setup.branch({ name: branch }).create();
      const t0 = await setup.branch({ name: branch }).transaction();
      await t0.write({ path: 'shared', data: 'base\n' });
      await t0.write({ path: 'keep', data: 'untouched\n' });
      const base = await t0.commit({ message: 'base' });
      await setup.close();

      const clients = await Promise.all(Array.from({ length: 10 }, () => DatakitClient.connect({ address })));
      // Clients 0-4 write different contents to `shared`; 5-9 each write a file of their own.
      const pathOf = (k: number): string => (k < 5 ? 'shared' : `own/${k}`);
      const contentOf = (k: number): string => `round ${round} client ${k}\n`;
      // Every transaction starts from the same head before any commits.
      const txs = await Promise.all(clients.map((c) => c.branch({ name: branch }).transaction()));
      await Promise.all(txs.map((t, k) => t.write({ path: pathOf(k), data: contentOf(k) })));
      const results = await Promise.allSettled(txs.map((t, k) => t.commit({ message: `round ${round} client ${k}` })));

      const acked = results.flatMap((r, k) => (r.status === 'fulfilled' ? [k] : []));
      const refused = results.flatMap((r, k) => (r.status === 'rejected' ? [{ k, err: r.reason as unknown }] : []));
      // Every write to a distinct path lands; exactly one writer of `shared` wins.
      expect(acked.filter((k) => k >= 5)).toEqual([5, 6, 7, 8, 9]);
      expect(acked.filter((k) => k < 5)).toHaveLength(1);
      const winner = acked.find((k) => k < 5) ?? -1;
      // Each refusal is an error that says why: datakit's merge conflict on `shared`.
      expect(refused.map((r) => r.k).sort()).toEqual([0, 1, 2, 3, 4].filter((k) => k !== winner));
      for (const { err } of refused) {
        expect(err).toBeInstanceOf(DatakitError);
        expect(err).toMatchObject({ code: 'EPERM', message: expect.stringMatching(/^Merge conflict: shared: /) });
      }

      // Every acknowledged transaction's own commit (its message is unique) is in the
      // branch's history and holds what that client wrote.
      const log = history(branch);
      const head = git('rev-parse', branch).trim();
      expect(log[0]?.id).toBe(head);
      for (const k of acked) {
        const own = log.filter((c) => c.subject === `round ${round} client ${k}` && c.parents.length === 1 && c.parents[0] === base);
        expect(own, `client ${k}'s commit`).toHaveLength(1);
        expect(git('show', `${own[0]?.id ?? ''}:${pathOf(k)}`)).toBe(contentOf(k));
        expect(() => git('merge-base', '--is-ancestor', own[0]?.id ?? '', head)).not.toThrow();
      }
      // No refused write reached the branch, and the head holds every accepted one.
      for (const { k } of refused) expect(log.some((c) => c.subject === `round ${round} client ${k}`)).toBe(false);
      expect(git('show', `${head}:shared`)).toBe(contentOf(winner));
      for (const k of [5, 6, 7, 8, 9]) expect(git('show', `${head}:own/${k}`)).toBe(contentOf(k));
      expect(git('show', `${head}:keep`)).toBe('untouched\n');

      // A refused transaction stays open (datakit keeps it for another try); after a merge
      // of the new head it can resolve its conflict and commit.
      const retry = refused[0];
      if (retry !== undefined) {
        const t = txs[retry.k];
        expect(await t?.merge({ commit: head })).toEqual(['shared']);
        await t?.write({ path: 'shared', data: `resolved by ${retry.k}\n` });
        await t?.commit({ message: `round ${round} client ${retry.k} resolved` });
        expect(git('show', `${branch}:shared`)).toBe(`resolved by ${retry.k}\n`);
        expect(() => git('merge-base', '--is-ancestor', head, branch)).not.toThrow();
      }
      for (const r of refused.slice(1)) await txs[r.k]?.close();
      await Promise.all(clients.map((c) => c.close()));
      git('fsck', '--strict', '--no-dangling');
    });
  }
});
