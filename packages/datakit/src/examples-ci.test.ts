/**
 * The showcase (examples/ci/ci.sh) end to end: `datakit serve` on a fresh repository, the
 * CI script following `master`, a passing commit and then a failing one; the results
 * branch gets PASSED and FAILED with the test logs, and git agrees.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
const script = new URL('../examples/ci/ci.sh', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'datakit-ci-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!existsSync(cli))('examples/ci: a CI system in shell on datakit', () => {
  it('tests each new commit of master and records PASSED / FAILED with the log', async () => {
    const git = join(dir, 'repo.git');
    const sock = join(dir, 'dk.sock');
    // `datakit` on PATH for the script.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'datakit'), `#!/bin/sh\nexec ${process.execPath} ${cli} "$@"\n`);
    chmodSync(join(bin, 'datakit'), 0o755);
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, DATAKIT_ADDR: `unix:${sock}`, GIT_DIR: git };
    const server = spawn('node', [cli, 'serve', '--git', git, '--listen', `unix:${sock}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let err = '';
      server.stderr?.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('serving')) resolve();
      });
      server.once('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
    });
    let ci: ChildProcess | undefined;
    const dk = (...args: string[]): string => execFileSync('datakit', args, { env, encoding: 'utf8' });
    const waitFor = async (path: string): Promise<string> => {
      for (let i = 0; i < 300; i++) {
        try {
          return dk('read', path);
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      throw new Error(`${path} never appeared`);
    };
    try {
      dk('branch', 'create', 'master');
      ci = spawn('sh', [script], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      let ciOut = '';
      ci.stdout?.on('data', (d: Buffer) => (ciOut += d.toString()));
      ci.stderr?.on('data', (d: Buffer) => (ciOut += d.toString()));
      const src = join(dir, 'src');
      mkdirSync(src);
      writeFileSync(join(src, 'test.sh'), 'echo "running the tests"\n[ "$(cat value)" = 42 ] && echo "value ok"\n');
      writeFileSync(join(src, 'value'), '42\n');
      const good = dk('commit', 'master', 'a good change', '--write', `test.sh=${join(src, 'test.sh')}`, '--write', `value=${join(src, 'value')}`).trim();
      expect(await waitFor(`branch/ci-results/ro/${good}/status`)).toBe('PASSED\n');
      expect(dk('read', `branch/ci-results/ro/${good}/log`)).toBe('running the tests\nvalue ok\n');

      writeFileSync(join(src, 'value'), '41\n');
      const bad = dk('commit', 'master', 'a bad change', '--write', `value=${join(src, 'value')}`).trim();
      expect(await waitFor(`branch/ci-results/ro/${bad}/status`)).toBe('FAILED\n');
      expect(dk('read', `branch/ci-results/ro/${bad}/log`)).toBe('running the tests\n');
      // The script reports after its commit returns: give its output a moment.
      for (let i = 0; i < 100 && !ciOut.includes(`ci: ${bad} FAILED`); i++) await new Promise((r) => setTimeout(r, 50));
      expect(ciOut).toContain(`ci: ${good} PASSED`);
      expect(ciOut).toContain(`ci: ${bad} FAILED`);
      // The results are ordinary git history.
      const log = execFileSync('git', ['--git-dir', git, 'log', '--format=%s', 'ci-results'], { encoding: 'utf8' });
      expect(log).toContain(`CI: PASSED for ${good}`);
      expect(log).toContain(`CI: FAILED for ${bad}`);
      execFileSync('git', ['--git-dir', git, 'fsck', '--strict']);
    } finally {
      if (ci?.pid !== undefined) {
        try {
          process.kill(-ci.pid, 'SIGTERM');
        } catch {
          /* already gone */
        }
      }
      server.kill('SIGTERM');
    }
  }, 90_000);
});
