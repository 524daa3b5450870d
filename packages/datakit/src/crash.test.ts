/**
 * Crash safety (issue #7): the built `datakit serve` is killed with SIGKILL in the middle
 * of a stream of commits, restarted on the same repository, and the repository must be
 * consistent (`git fsck --strict`) and hold every commit the server acknowledged.
 *
 * The writer commits as fast as it can through the client library; a commit counts as
 * acknowledged once `ctl` answered success and the head was read back (one writer, so
 * that head is its commit). The kill lands at a different moment each round, usually
 * while a commit is being written (a commit takes a few milliseconds).
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DatakitClient } from './client/client.js';

const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'datakit-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function serve(gitdir: string, sock: string, extra: string[]): Promise<ChildProcess> {
  const child = spawn('node', [cli, 'serve', '--git', gitdir, '--listen', `unix:${sock}`, ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('serving')) resolve(child);
    });
    child.once('exit', (code, signal) => reject(new Error(`datakit serve exited ${code ?? signal}: ${err}`)));
  });
}

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));

/** Loose object files under their final names (not git's tmp_obj_ files) that are empty. */
function emptyObjects(gitdir: string): string[] {
  const out: string[] = [];
  const objects = join(gitdir, 'objects');
  for (const d of readdirSync(objects)) {
    if (!/^[0-9a-f]{2}$/.test(d)) continue;
    for (const f of readdirSync(join(objects, d))) if (/^[0-9a-f]{38}$/.test(f) && statSync(join(objects, d, f)).size === 0) out.push(`${d}${f}`);
  }
  return out;
}

describe.skipIf(!existsSync(cli))('crash safety: SIGKILL during a stream of commits', () => {
  // --fsync=never too: fsync is for power cuts; what a killed process wrote is in the
  // page cache, and the write-then-rename order alone keeps the repository whole.
  it.each([
    ['default (fsync always)', []],
    ['--fsync=never', ['--fsync=never']],
  ])('%s: restarts with a consistent repository holding every acknowledged commit (3 kills at different moments)', async (_mode, extra: string[]) => {
    const gitdir = join(dir, `state-${extra.length}.git`);
    const sock = join(dir, `dk-${extra.length}.sock`);
    const git = (...args: string[]): string => execFileSync('git', ['--git-dir', gitdir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: string[] = [];
    // Kill after this many ms of committing: early, middle, late in a round.
    const killAfter = [40, 250, 530];
    for (const [round, delay] of killAfter.entries()) {
      const server = await serve(gitdir, sock, extra);
      const dk = await DatakitClient.connect({ address: `unix!${sock}` });
      const master = dk.branch({ name: 'master' });
      await master.create();
      let inFlight = 0;
      let firstAck: () => void = () => undefined;
      const started = new Promise<void>((r) => (firstAck = r));
      const writer = (async () => {
        // Until the kill ends it: a flag checked between commits would let a writer
        // whose last reply arrived just before the kill stop without seeing it.
        for (let i = 0; ; i++) {
          const t = await master.transaction();
          await t.write({ path: `round${round}/file${i % 7}`, data: `round ${round} commit ${i}\n` });
          await t.write({ path: `round${round}/n`, data: `${i}\n` });
          inFlight++;
          const head = await t.commit({ message: `round ${round} commit ${i}` });
          inFlight--;
          acked.push(head);
          firstAck();
        }
      })().catch((err: unknown) => err);
      // Counted from the round's first acknowledged commit, so every round has some.
      await started;
      await new Promise((r) => setTimeout(r, delay));
      server.kill('SIGKILL');
      await exited(server);
      // The writer sees the connection die; what it had not been told is not acknowledged.
      expect(await writer).toBeInstanceOf(Error);
      await dk.close().catch(() => undefined);
      expect(inFlight).toBeLessThanOrEqual(1);

      // Consistent as it was left, before anything touches it again; the commits' packs
      // within their bound (32, and those written while a merge was under way).
      expect(emptyObjects(gitdir)).toEqual([]);
      expect(readdirSync(join(gitdir, 'objects', 'pack')).filter((f) => f.endsWith('.idx')).length).toBeLessThanOrEqual(48);
      git('fsck', '--strict', '--no-dangling');

      // Restarted on the same repository (a socket file and any lock left behind must
      // not stop it), it serves every acknowledged commit and takes new ones.
      const again = await serve(gitdir, sock, extra);
      try {
        const dk2 = await DatakitClient.connect({ address: `unix!${sock}` });
        const head = await dk2.branch({ name: 'master' }).head();
        expect(head).toBeDefined();
        const t = await dk2.branch({ name: 'master' }).transaction();
        await t.write({ path: 'restarted', data: `after round ${round}\n` });
        acked.push(await t.commit({ message: `after round ${round}` }));
        await dk2.close();
      } finally {
        again.kill('SIGKILL');
        await exited(again);
      }
      git('fsck', '--strict', '--no-dangling');
      const tip = git('rev-parse', 'master').trim();
      for (const c of acked) {
        // Exit status 0: c is reachable from master.
        git('merge-base', '--is-ancestor', c, tip);
      }
      const history = new Set(git('rev-list', 'master').trim().split('\n'));
      expect(acked.filter((c) => !history.has(c))).toEqual([]);
    }
    // Every round had at least one commit acknowledged before its kill, and one after.
    expect(new Set(acked).size).toBeGreaterThanOrEqual(killAfter.length * 2);
  }, 60_000);
});
