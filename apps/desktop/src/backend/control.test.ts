/**
 * `kitbox start|status|logs|stop` end to end: the daemon boots the VM image with QEMU and
 * its network on the in-process vpnkit, `start` returns once dockerd answers, and Docker's
 * data disk survives a stop/start (the agent formats it once, then finds it again).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('../../../../', import.meta.url).pathname;
const cli = new URL('../../dist/cli.js', import.meta.url).pathname;
const ready = existsSync(cli) && existsSync('/usr/bin/qemu-system-x86_64') && existsSync('/usr/bin/mmdebstrap') && process.getuid?.() === 0;
if (!ready) console.log('skipping the kitbox start/stop test: it needs the build, root, QEMU and mmdebstrap');
const home = mkdtempSync(join(tmpdir(), 'kitbox-home-'));
afterAll(async () => {
  await run('node', [cli, 'stop'], { env: { ...process.env, KITBOX_HOME: home } }).catch(() => undefined);
  rmSync(home, { recursive: true, force: true });
});

describe.skipIf(!ready)('kitbox start / status / logs / stop', () => {
  it(
    'boots the VM until dockerd answers, stops it cleanly, and keeps the data disk',
    async () => {
      const image = (await run('bash', ['tools/vm-image/build'], { cwd: root, maxBuffer: 64 << 20, timeout: 900_000 })).stdout.trim().split('\n').at(-1) as string;
      const env = { ...process.env, KITBOX_HOME: home, KITBOX_IMAGE: image };
      const kitbox = (...args: string[]) => run('node', [cli, ...args], { env, timeout: 400_000 });

      await expect(kitbox('status')).rejects.toMatchObject({ code: 3, stdout: expect.stringContaining('never started') });
      const first = await kitbox('start');
      expect(first.stdout).toMatch(/kitbox: running \(qemu, (tcg|kvm)\): dockerd answered [\d.]+ s after start .* VM address 192\.168\.65\.3/);
      expect((await kitbox('start')).stdout).toMatch(/already running/);
      expect((await kitbox('status')).stdout).toMatch(/status:\s+running/);
      expect((await kitbox('logs', '-n', '200')).stdout).toContain('kitbox-agent: docker data on /dev/vdb (formatted a new disk)');
      expect((await kitbox('stop')).stdout).toMatch(/kitbox: stopped \(stopped on request\)/);
      expect((await kitbox('logs', '-n', '200')).stdout).toContain('kitbox-agent: stopping dockerd and containerd');
      await expect(kitbox('status')).rejects.toMatchObject({ code: 3, stdout: expect.stringMatching(/status:\s+stopped/) });

      await kitbox('start');
      expect((await kitbox('logs', '-n', '60')).stdout).toContain('kitbox-agent: docker data on /dev/vdb (existing)');
      await kitbox('stop');
      console.log(`kitbox start: ${/dockerd answered ([\d.]+) s after start/.exec(first.stdout)?.[1]} s to dockerd answering (QEMU TCG)`);
    },
    900_000,
  );

  it('refuses to start without an image, saying how to make one', async () => {
    await expect(run('node', [cli, 'start'], { env: { ...process.env, KITBOX_HOME: home, KITBOX_IMAGE: '' } })).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('tools/vm-image/build'),
    });
  });
});
