/**
 * Two namespaces on one switch: guest-to-guest traffic is switched between
 * links, not NAT'd.  One TAP has offloads (the kernel hands over TCP
 * super-segments with the checksum left partial, NEEDS_CSUM), the other has
 * none: every frame from the first must leave with its checksum finished, or
 * the second kernel drops it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack } from './stack.js';
import { netnsSkipReason, startNetnsGuest, type NetnsGuest } from './netns.fixture.js';

const MiB = 1024 * 1024;

describe.skipIf(netnsSkipReason !== '')('guest to guest through the switch (offload TAP <-> plain TAP)', () => {
  let stack: Stack;
  let a: NetnsGuest;
  let b: NetnsGuest;

  beforeAll(async () => {
    stack = new Stack();
    stack.start();
    a = await startNetnsGuest(stack, { offload: true });
    b = await startNetnsGuest(stack, { offload: false });
  }, 60_000);

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await stack?.close();
  });

  // A one-shot TCP server in `server` that answers "<sha256> <bytes>" of what it read; `client` sends `mib` MiB.
  async function transfer(server: NetnsGuest, client: NetnsGuest, mib: number): Promise<void> {
    const port = 20000 + Math.floor(Math.random() * 10000);
    const srv = server.exec(
      [
        'node',
        '-e',
        `const h=require('crypto').createHash('sha256');let n=0;const s=require('net').createServer((c)=>{c.on('data',(d)=>{h.update(d);n+=d.length});c.on('end',()=>{c.end(h.digest('hex')+' '+n);s.close()})}).listen(${port},'${server.ip}',()=>console.log('ready'))`,
      ],
      { timeoutMs: 60_000 },
    );
    // Wait for the listener.
    for (let i = 0; i < 100; i++) {
      const r = await server.exec(['sh', '-c', `ss -ltn | grep -q ':${port} '`]);
      if (r.code === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const cli = await client.exec(
      [
        'node',
        '-e',
        `const crypto=require('crypto');const h=crypto.createHash('sha256');const c=require('net').connect(${port},'${server.ip}');let out='';
         c.on('data',(d)=>out+=d);c.on('end',()=>{console.log(out.trim()===h.digest('hex')+' '+${mib * MiB}?'match':'MISMATCH '+out)});
         let i=0;const w=()=>{while(i<${mib}){const b=crypto.randomBytes(${MiB});h.update(b);i++;if(!c.write(b)){c.once('drain',w);return}}c.end()};c.on('connect',w);`,
      ],
      { timeoutMs: 60_000 },
    );
    await srv;
    expect(cli.stderr).toBe('');
    expect(cli.stdout.trim()).toBe('match');
  }

  it('TCP from the offload side (checksums left partial) to the plain side arrives intact', async () => {
    const before = stack.stats().switch;
    await transfer(b, a, 8);
    const after = stack.stats().switch;
    expect(after.forwarded - before.forwarded).toBeGreaterThan(100); // switched, not NAT'd
  }, 90_000);

  it('and the other way', async () => {
    await transfer(a, b, 8);
  }, 90_000);
});
