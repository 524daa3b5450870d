/**
 * `kitbox start|status|logs|stop` end to end: the daemon boots the VM image with QEMU and
 * its network on the in-process vpnkit, `start` returns once dockerd answers through the
 * host socket, the host's `docker` CLI works through the `kitbox` context (run, published
 * ports, build), and Docker's data survives a stop/start.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
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
}, 180_000);

const dockerCli = ['/usr/local/bin/docker', '/usr/bin/docker'].find((p) => existsSync(p));
const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));

/** Whether nothing listens on 127.0.0.1:port. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** GET http://127.0.0.1:port/ -> body, or the error code. */
function httpGet(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/', timeout: 5000 }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve(text));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e: NodeJS.ErrnoException) => resolve(`error:${e.code ?? e.message}`));
  });
}

async function until<T>(what: string, f: () => Promise<T>, ok: (v: T) => boolean, ms = 60_000): Promise<T> {
  const t0 = performance.now();
  for (;;) {
    const v = await f();
    if (ok(v)) return v;
    if (performance.now() - t0 > ms) throw new Error(`${what}: still ${JSON.stringify(v)} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Our processes still alive that mention the Kitbox home (daemon, QEMU). */
function leftovers(): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (cmd.includes(home) || env.includes(`KITBOX_HOME=${home}`)) out.push(`${pid} ${cmd}`);
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}

describe.skipIf(!ready)('kitbox start / status / logs / stop', () => {
  it(
    'boots the VM, serves the Docker API on the host socket, publishes ports, and keeps data across restarts',
    async () => {
      const image = (await run('bash', ['tools/vm-image/build'], { cwd: root, maxBuffer: 64 << 20, timeout: 900_000 })).stdout.trim().split('\n').at(-1) as string;
      const dockerConfig = join(home, 'docker-config');
      mkdirSync(dockerConfig, { recursive: true });
      const env = { ...process.env, KITBOX_HOME: home, KITBOX_IMAGE: image, DOCKER_CONFIG: dockerConfig, DOCKER_BUILDKIT: '0' };
      const kitbox = (...args: string[]) => run('node', [cli, ...args], { env, timeout: 400_000 });
      const docker = (...args: string[]) => run(dockerCli as string, ['--context', 'kitbox', ...args], { env, timeout: 300_000, maxBuffer: 16 << 20 });

      await expect(kitbox('status')).rejects.toMatchObject({ code: 3, stdout: expect.stringContaining('never started') });
      const first = await kitbox('start');
      console.log(first.stdout.trim());
      expect(first.stdout).toMatch(/kitbox: running \(qemu, (tcg|kvm)\): dockerd answered [\d.]+ s after start .* VM address 192\.168\.65\.3/);
      const sock = join(home, 'run', 'docker.sock');
      expect(first.stdout).toContain(`Docker API on unix://${sock}`);
      expect((await kitbox('start')).stdout).toMatch(/already running/);
      expect((await kitbox('status')).stdout).toMatch(/status:\s+running/);
      expect((await kitbox('logs', '-n', '200')).stdout).toContain('kitbox-agent: docker data on /dev/vdb (formatted a new disk)');
      // The guest's clock comes from the host: once at boot, and on request.
      expect((await kitbox('logs', '-n', '200')).stdout).toMatch(/kitbox-agent: clock set to \d{4}-\d\d-\d\dT/);
      const synced = await kitbox('sync-clock');
      expect(synced.stdout).toMatch(/kitbox: VM clock set to \S+ \(was off by -?\d+ s\)/);

      if (dockerCli !== undefined && busybox !== undefined) {
        const version = await docker('version', '--format', '{{.Server.Version}} {{.Server.Os}}');
        expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+\S* linux$/);
        // A tiny image made here from busybox: no registry is reachable.
        const rootfs = join(home, 'rootfs');
        mkdirSync(join(rootfs, 'bin'), { recursive: true });
        copyFileSync(busybox, join(rootfs, 'bin', 'busybox'));
        for (const a of ['sh', 'echo', 'cat', 'httpd', 'mkdir', 'sleep', 'date']) symlinkSync('busybox', join(rootfs, 'bin', a));
        const tar = join(home, 'rootfs.tar');
        await run('tar', ['-C', rootfs, '-cf', tar, '.']);
        await docker('import', '--change', 'ENV PATH=/bin', tar, 'kitbox-test/busybox:1');
        expect((await docker('run', '--rm', 'kitbox-test/busybox:1', 'echo', 'hello')).stdout).toBe('hello\n');
        // The container reads its clock somewhere between the command's start and its end (which
        // can be many seconds apart on a loaded machine): within 10 s of that window.
        const before = Date.now() / 1000;
        const guestNow = Number((await docker('run', '--rm', 'kitbox-test/busybox:1', 'date', '+%s')).stdout.trim());
        const after = Date.now() / 1000;
        expect(guestNow).toBeGreaterThan(before - 10);
        expect(guestNow).toBeLessThan(after + 10);

        // The issue's own example, -p 8080:80, unless something on this host already has 8080.
        const port = (await portFree(8080)) ? 8080 : 18000 + Math.floor(Math.random() * 2000);
        await docker('run', '-d', '--name', 'web', '-p', `${port}:80`, 'kitbox-test/busybox:1', 'sh', '-c', 'mkdir -p /www && echo served-from-the-vm > /www/index.html && exec httpd -f -p 80 -h /www');
        expect(await until('published port', () => httpGet(port), (b) => b === 'served-from-the-vm\n')).toBe('served-from-the-vm\n');
        await docker('rm', '-f', 'web');
        expect(await until('unpublished port', () => httpGet(port), (b) => b === 'error:ECONNREFUSED')).toBe('error:ECONNREFUSED');

        const ctx = join(home, 'build');
        mkdirSync(ctx, { recursive: true });
        writeFileSync(join(ctx, 'Dockerfile'), 'FROM kitbox-test/busybox:1\nRUN echo built-in-the-vm > /built.txt\nCMD ["cat", "/built.txt"]\n');
        await docker('build', '-t', 'kitbox-test/built:1', ctx);
        expect((await docker('run', '--rm', 'kitbox-test/built:1')).stdout).toBe('built-in-the-vm\n');
      } else {
        console.log(`the docker CLI or busybox is absent: skipping the docker run/-p/build part (docker=${dockerCli}, busybox=${busybox})`);
      }

      expect((await kitbox('stop')).stdout).toMatch(/kitbox: stopped \(stopped on request\)/);
      expect((await kitbox('logs', '-n', '200')).stdout).toContain('kitbox-agent: stopping dockerd and containerd');
      await expect(kitbox('status')).rejects.toMatchObject({ code: 3, stdout: expect.stringMatching(/status:\s+stopped/) });
      expect(leftovers()).toEqual([]);
      expect(existsSync(sock)).toBe(false);

      await kitbox('start');
      expect((await kitbox('logs', '-n', '60')).stdout).toContain('kitbox-agent: docker data on /dev/vdb (existing)');
      if (dockerCli !== undefined && busybox !== undefined) {
        expect((await docker('image', 'ls', '--format', '{{.Repository}}:{{.Tag}}')).stdout).toContain('kitbox-test/busybox:1');
      }
      await kitbox('stop');
      expect(leftovers()).toEqual([]);
      console.log(`kitbox start: ${/dockerd answered ([\d.]+) s after start/.exec(first.stdout)?.[1]} s to dockerd answering (QEMU TCG)`);
    },
    1_500_000,
  );

  it('a bad setting gets a clear error and starts nothing', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'kitbox-bad-'));
    try {
      const image = mkdtempSync(join(tmpdir(), 'kitbox-img-'));
      for (const f of ['vmlinuz', 'initrd.img', 'root.img']) writeFileSync(join(image, f), '');
      const env = { ...process.env, KITBOX_HOME: bad, KITBOX_IMAGE: image };
      writeFileSync(join(bad, 'settings.json'), '{"memoryMiB": -1}');
      await expect(run('node', [cli, 'start'], { env })).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringContaining('"memoryMiB" must be between 512'),
      });
      writeFileSync(join(bad, 'settings.json'), JSON.stringify({ dockerSocket: join(bad, 'missing', 'docker.sock') }));
      await expect(run('node', [cli, 'start'], { env })).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringContaining(`the folder ${join(bad, 'missing')} does not exist`),
      });
      // Nothing was started: no daemon state, no log.
      expect(existsSync(join(bad, 'run', 'state.json'))).toBe(false);
      expect(existsSync(join(bad, 'log'))).toBe(false);
      rmSync(image, { recursive: true, force: true });
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });

  it('refuses to start without an image, saying how to make one', async () => {
    await expect(run('node', [cli, 'start'], { env: { ...process.env, KITBOX_HOME: home, KITBOX_IMAGE: '' } })).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('tools/vm-image/build'),
    });
  });
});
