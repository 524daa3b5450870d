import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Session } from '../client/session.js';
import { MemoryFs } from '../handlers/memory.js';
import { serve } from '../server/serve.js';
import { dial, listen } from './dial.js';

describe('dial and listen', () => {
  it('serves over a Unix socket and TCP', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'p9p-sock-'));
    const fs = new MemoryFs();
    fs.writeFile('motd', 'hi');
    try {
      for (const address of [`unix!${join(dir, 's')}`, 'tcp!127.0.0.1!0']) {
        const server = await listen({ address, onConnection: (s) => void serve({ stream: s, handler: fs }) });
        const a = server.address();
        if (typeof a === 'string') expect(statSync(a).mode & 0o777).toBe(0o600);
        const to = typeof a === 'string' ? `unix!${a}` : `tcp!127.0.0.1!${a?.port ?? 0}`;
        const s = await Session.connect({ stream: await dial({ address: to }) });
        expect(new TextDecoder().decode(await s.readFile({ path: 'motd' }))).toBe('hi');
        await s.close();
        await new Promise((r) => server.close(r));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a failed accept (EMFILE) after listening is reported to onError and the server goes on; the socket is never wider than 0600', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'p9p-sock-'));
    const errors: Error[] = [];
    const fs = new MemoryFs();
    fs.writeFile('motd', 'hi');
    try {
      for (const onError of [undefined, (e: Error) => errors.push(e)]) {
        const path = join(dir, `s${errors.length}`);
        const server = await listen({ address: `unix!${path}`, onConnection: (s) => void serve({ stream: s, handler: fs }), onError });
        expect(statSync(path).mode & 0o777).toBe(0o600);
        // Without a listener of its own, an 'error' emitted on the server would throw here (and end the process).
        expect(() => server.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE', syscall: 'accept' }))).not.toThrow();
        const s = await Session.connect({ stream: await dial({ address: `unix!${path}` }) });
        expect(new TextDecoder().decode(await s.readFile({ path: 'motd' }))).toBe('hi');
        await s.close();
        await new Promise((r) => server.close(r));
      }
      expect(errors.map((e) => e.message)).toEqual(['accept EMFILE']);
      // listen() put the process's umask back.
      const before = process.umask();
      expect(process.umask(before)).toBe(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('maxConnections: a connection past the bound is closed', async () => {
    const server = await listen({ address: 'tcp!127.0.0.1!0', onConnection: (s) => void serve({ stream: s, handler: new MemoryFs() }), maxConnections: 1 });
    const port = (server.address() as { port: number }).port;
    const first = await Session.connect({ stream: await dial({ address: `tcp!127.0.0.1!${port}` }) });
    await expect(Session.connect({ stream: await dial({ address: `tcp!127.0.0.1!${port}` }) })).rejects.toThrow();
    await first.stat({ path: '' });
    await first.close();
    await new Promise((r) => server.close(r));
  });

  it('rejects a refused connection and an aborted dial', async () => {
    await expect(dial({ address: 'unix!/nonexistent/p9p.sock' })).rejects.toMatchObject({ code: 'ENOENT' });
    const ac = new AbortController();
    ac.abort();
    await expect(dial({ address: 'tcp!127.0.0.1!1', signal: ac.signal })).rejects.toMatchObject({ code: 'ABORT_ERR' });
  });
});
