// A loopback TCP port free at the time of the call (the bench's servers are told to listen on it).
import { createServer } from 'node:net';

export async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}
