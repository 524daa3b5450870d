import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { ReadStream } from 'node:tty';
import { describe, expect, it } from 'vitest';
import { openPty } from './pty.js';

describe.skipIf(process.platform !== 'linux')('openPty', () => {
  it('opens a raw pseudo-terminal whose bytes pass unchanged both ways, without echo', async () => {
    const pty = openPty();
    expect(pty.path).toMatch(/^\/dev\/pts\/\d+$/);
    const master = new ReadStream(pty.fd);
    const got: Buffer[] = [];
    master.on('data', (d: Buffer) => got.push(d));
    const slave = openSync(pty.path, 'r+');
    try {
      // Host -> terminal user: what the VMM writes comes out of the slave as is (no \n -> \r\n).
      master.write(Buffer.from('guest\nsays\r\x03'));
      const buf = Buffer.alloc(64);
      let n = 0;
      const deadline = Date.now() + 2000;
      while (n < 11 && Date.now() < deadline) {
        try {
          n += readSync(slave, buf, n, 64 - n, null);
        } catch {
          await new Promise((r) => setTimeout(r, 10));
        }
      }
      expect(buf.subarray(0, n).toString('latin1')).toBe('guest\nsays\r\x03');
      // Terminal user -> VMM: typed bytes arrive unchanged (Ctrl-C is a byte, not a signal).
      writeSync(slave, 'ls\r\x03');
      await new Promise((r) => setTimeout(r, 200));
      expect(Buffer.concat(got).toString('latin1')).toBe('ls\r\x03'); // nothing echoed back
    } finally {
      closeSync(slave);
      master.destroy();
    }
  });
});
