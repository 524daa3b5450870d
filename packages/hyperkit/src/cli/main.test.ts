import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { makeBzImage } from '../testing/bzimage.js';

const run = promisify(execFile);
const cli = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const hasKvm = process.platform === 'linux' && existsSync('/dev/kvm');
const dir = mkdtempSync(join(tmpdir(), 'hyperkit-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A kernel that prints "Hi" on COM1 and resets through the i8042. */
function bzImage(): string {
  const path = join(dir, 'bzImage');
  writeFileSync(path, makeBzImage([0x66, 0xba, 0xf8, 0x03, 0xb0, 0x48, 0xee, 0xb0, 0x69, 0xee, 0xb0, 0xfe, 0xe6, 0x64, 0xeb, 0xfe]));
  return path;
}

describe.skipIf(!existsSync(cli))('the hyperkit command', () => {
  it('prints usage and exits 2 on a bad flag', async () => {
    await expect(run('node', [cli, '-Z'])).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown option -Z[\s\S]*Usage: hyperkit/) });
    const { stdout } = await run('node', [cli, '-h']);
    expect(stdout).toMatch(/^Usage: hyperkit/);
  });

  it.skipIf(!hasKvm)('boots a kernel with com1 on stdio and exits 0 when the guest resets', async () => {
    const pid = join(dir, 'hk.pid');
    const { stdout, stderr } = await run('node', [cli, '-A', '-u', '-m', '32M', '-F', pid, '-s', '31,lpc', '-l', 'com1,stdio', '-f', `kexec,${bzImage()},,"console=ttyS0"`]);
    expect(stdout).toBe('Hi');
    expect(stderr).toMatch(/ACPI tables are not generated/);
    expect(existsSync(pid)).toBe(false); // removed at exit
  });

  it.skipIf(!hasKvm)('writes com1 to a log file', async () => {
    const log = join(dir, 'console.log');
    await run('node', [cli, '-m', '32', '-l', `com1,log=${log}`, '-f', `kexec,${bzImage()}`]);
    expect(readFileSync(log, 'utf8')).toBe('Hi');
  });
});
