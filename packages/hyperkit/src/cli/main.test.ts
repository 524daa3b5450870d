import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { ReadStream } from 'node:tty';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { makeBzImage } from '../testing/bzimage.js';

const run = promisify(execFile);
const cli = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const hasKvm = process.platform === 'linux' && existsSync('/dev/kvm');
const dir = mkdtempSync(join(tmpdir(), 'hyperkit-cli-'));
// VMMs a test started: killed whatever happens to the test (a guest may spin forever).
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A kernel that prints "Hi" on COM1 and resets through the i8042. */
function bzImage(): string {
  const path = join(dir, 'bzImage');
  writeFileSync(path, makeBzImage([0x66, 0xba, 0xf8, 0x03, 0xb0, 0x48, 0xee, 0xb0, 0x69, 0xee, 0xb0, 0xfe, 0xe6, 0x64, 0xeb, 0xfe]));
  return path;
}

describe.skipIf(!existsSync(cli))('the hyperkit command', { timeout: 30_000 }, () => {
  it('prints usage and exits 2 on a bad flag', async () => {
    await expect(run('node', [cli, '-Z'])).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown option -Z[\s\S]*Usage: hyperkit/) });
    const { stdout } = await run('node', [cli, '-h']);
    expect(stdout).toMatch(/^Usage: hyperkit/);
  });

  it.skipIf(!hasKvm)('boots a kernel with com1 on stdio and exits 0 when the guest resets', async () => {
    const pid = join(dir, 'hk.pid');
    const { stdout, stderr } = await run('node', [cli, '-A', '-u', '-m', '32M', '-F', pid, '-s', '31,lpc', '-l', 'com1,stdio', '-f', `kexec,${bzImage()},,"console=ttyS0"`]);
    expect(stdout).toBe('Hi');
    expect(stderr).toBe('hyperkit: -s 31,lpc: nothing to add (COM1 is always present)\n');
    expect(existsSync(pid)).toBe(false); // removed at exit
  });

  it.skipIf(!hasKvm)('puts com1 on a pseudo-terminal with autopty=LINK: output out, input in, link removed at exit', async () => {
    // Prints "Hi", waits for a byte on COM1 (LSR bit 0), echoes it, then resets.
    const code = [
      0x66, 0xba, 0xf8, 0x03, 0xb0, 0x48, 0xee, 0xb0, 0x69, 0xee, // mov dx,0x3f8; 'H'; 'i'
      0x66, 0xba, 0xfd, 0x03, 0xec, 0xa8, 0x01, 0x74, 0xfb, // mov dx,0x3fd; loop: in al,dx; test al,1; jz loop
      0x66, 0xba, 0xf8, 0x03, 0xec, 0xee, // mov dx,0x3f8; in al,dx; out dx,al
      0xb0, 0xfe, 0xe6, 0x64, 0xeb, 0xfe, // i8042 reset; jmp $
    ];
    const kernel = join(dir, 'echo-bzImage');
    writeFileSync(kernel, makeBzImage(code));
    const link = join(dir, 'com1');
    const child = spawn('node', [cli, '-m', '32', '-l', `com1,autopty=${link}`, '-f', `kexec,${kernel}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    for (let i = 0; i < 200 && !/connected to/.test(stderr); i++) await new Promise((r) => setTimeout(r, 50));
    expect(stderr).toMatch(new RegExp(`hyperkit: COM1 connected to /dev/pts/\\d+ \\(${link.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\)`));
    const term = new ReadStream(openSync(link, 'r+'));
    let seen = '';
    term.on('data', (d: Buffer) => (seen += d.toString('latin1')));
    term.on('error', () => {});
    for (let i = 0; i < 200 && !seen.includes('Hi'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(seen).toBe('Hi');
    term.write('Q');
    // The echo can race the VMM's exit (a pty drops what its reader has not taken at hangup).
    for (let i = 0; i < 200 && !seen.includes('Q'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(await exited).toBe(0);
    expect(seen).toMatch(/^HiQ?$/);
    expect(stderr).not.toMatch(/error/i);
    term.destroy();
    expect(existsSync(link)).toBe(false);
  });

  it.skipIf(!hasKvm)('serves com1 on an owner-only Unix socket with socket=PATH: output out, input in', async () => {
    const code = [
      0x66, 0xba, 0xfd, 0x03, 0xec, 0xa8, 0x01, 0x74, 0xfb, // mov dx,0x3fd; loop: in al,dx; test al,1; jz loop
      0x66, 0xba, 0xf8, 0x03, 0xec, 0xee, // mov dx,0x3f8; in al,dx; out dx,al  (echo the first byte)
      0xb0, 0x21, 0xee, // mov al,'!'; out dx,al
      0xb0, 0xfe, 0xe6, 0x64, 0xeb, 0xfe, // i8042 reset; jmp $
    ];
    const kernel = join(dir, 'sock-bzImage');
    writeFileSync(kernel, makeBzImage(code));
    const path = join(dir, 'com1.sock');
    const child = spawn('node', [cli, '-m', '32', '-l', `com1,socket=${path}`, '-f', `kexec,${kernel}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    for (let i = 0; i < 200 && !/listening on/.test(stderr); i++) await new Promise((r) => setTimeout(r, 50));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const sock = connect(path);
    let seen = '';
    sock.on('data', (d: Buffer) => (seen += d.toString('latin1')));
    sock.on('error', () => {});
    await new Promise((r) => sock.once('connect', r));
    sock.write('Z'); // possibly before the VM exists: kept until the UART is wired
    expect(await exited).toBe(0); // the guest only resets after it read a byte
    for (let i = 0; i < 100 && seen !== 'Z!'; i++) await new Promise((r) => setTimeout(r, 10));
    expect(seen).toBe('Z!');
    sock.destroy();
    expect(existsSync(path)).toBe(false);
  });

  it.skipIf(!hasKvm)('writes com1 to a log file', async () => {
    const log = join(dir, 'console.log');
    await run('node', [cli, '-m', '32', '-l', `com1,log=${log}`, '-f', `kexec,${bzImage()}`]);
    expect(readFileSync(log, 'utf8')).toBe('Hi');
  });
});
