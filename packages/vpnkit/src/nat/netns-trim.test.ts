/**
 * An idle keep-alive connection gives its grown buffers back to the shared
 * pool, and goes on working afterwards (the Linux kernel in a netns is the
 * guest).
 */
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack } from '../stack/stack.js';
import { netnsSkipReason, startNetnsGuest, type NetnsGuest } from '../stack/netns.fixture.js';

const MiB = 1024 * 1024;

describe.skipIf(netnsSkipReason !== '')('TCP buffer pool: idle connections give storage back', () => {
  let stack: Stack;
  let guest: NetnsGuest;

  beforeAll(async () => {
    stack = new Stack({ tcp: { bufferTrimMs: 100 } });
    stack.start();
    guest = await startNetnsGuest(stack, { offload: true });
  }, 60_000);

  afterAll(async () => {
    await guest?.close();
    await stack?.close();
  });

  it('8 MiB, then idle (pool back to 0 with the connection open), then 1 MiB more on the same connection', async () => {
    let peak = 0;
    let idleBytes = -1;
    let openDuringIdle = -1;
    const sampler = setInterval(() => (peak = Math.max(peak, stack.stats().tcp.bufferBytes)), 5);
    const server = net.createServer((s) => {
      s.write(Buffer.alloc(8 * MiB, 1));
      s.once('data', () => {
        // The guest has read it all and said so; let the connection sit idle past a few trims.
        setTimeout(() => {
          idleBytes = stack.stats().tcp.bufferBytes;
          openDuringIdle = stack.stats().tcp.connections;
          s.end(Buffer.alloc(MiB, 2));
        }, 600);
      });
    });
    const port = await new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as net.AddressInfo).port)));
    try {
      const r = await guest.exec(
        [
          'node',
          '-e',
          `const s=require('net').connect(${port},'192.168.65.2');let n=0,ones=0,twos=0,said=false;
           s.on('data',(d)=>{for(const b of d){if(b===1)ones++;else if(b===2)twos++;}n+=d.length;if(!said&&n>=${8 * MiB}){said=true;s.write('got\\n');}});
           s.on('end',()=>{console.log(ones+' '+twos);s.end();});`,
        ],
        { timeoutMs: 60_000 },
      );
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe(`${8 * MiB} ${MiB}`);
    } finally {
      clearInterval(sampler);
      server.close();
    }
    console.log(`pool: peak ${peak} bytes, ${idleBytes} while idle with ${openDuringIdle} connection(s) open`);
    expect(peak).toBeGreaterThan(256 * 1024);
    expect(openDuringIdle).toBe(1);
    expect(idleBytes).toBe(0);
  }, 90_000);
});
