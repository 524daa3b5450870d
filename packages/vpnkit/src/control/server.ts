/**
 * The port-control API: HTTP/1.1 with JSON bodies on a Unix socket that
 * only its owner may connect to (mode 0600).
 *
 *   GET    /forwards          -> 200 [Forward...]
 *   POST   /forwards          {proto, hostIp?, hostPort, guestIp, guestPort}   (IPv4 or IPv6 addresses)
 *                             -> 201 Forward | 400 invalid | 409 in use | 429 limit
 *   DELETE /forwards/{id}     -> 204 | 404       (id as listed, URL-encoded: tcp:127.0.0.1:8080, udp:[::1]:53)
 *   GET    /stats             -> 200 the stack's counters
 *
 * Errors are `{"error": CODE, "message": "..."}`.  Request bodies are
 * bounded (16 KiB); anything else is 404/405.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listenUnix } from '../link/unix-server.js';
import { ForwardError, type ForwardSpec, type PortForwarder } from '../nat/forward.js';

const MAX_BODY = 16 * 1024;

export interface ControlTarget {
  readonly forwards: PortForwarder;
  stats(): unknown;
}

export class ControlServer {
  private readonly server: Server;

  constructor(private readonly target: ControlTarget) {
    this.server = createServer((req, res) => {
      this.route(req, res).catch((e: unknown) => send(res, 500, { error: 'INTERNAL', message: String(e) }));
    });
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 30_000;
  }

  /** Listen on a Unix socket path (owner-only; a stale socket file is replaced). */
  listen(path: string): Promise<void> {
    return listenUnix(this.server, path);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://vpnkit');
    const parts = url.pathname.split('/').filter((p) => p !== '');
    if (parts[0] === 'stats' && parts.length === 1) {
      if (req.method !== 'GET') return send(res, 405, { error: 'METHOD', message: 'GET /stats' });
      return send(res, 200, this.target.stats());
    }
    if (parts[0] !== 'forwards' || parts.length > 2) return send(res, 404, { error: 'NOT_FOUND', message: `no route ${url.pathname}` });
    if (parts.length === 1) {
      if (req.method === 'GET') return send(res, 200, this.target.forwards.list());
      if (req.method !== 'POST') return send(res, 405, { error: 'METHOD', message: 'GET or POST /forwards' });
      let body: unknown;
      try {
        body = JSON.parse(await readBody(req));
      } catch (e) {
        return send(res, 400, { error: 'INVALID', message: e instanceof BodyTooLarge ? e.message : 'the body must be JSON' });
      }
      try {
        const f = await this.target.forwards.expose(body as ForwardSpec);
        return send(res, 201, f);
      } catch (e) {
        return sendForwardError(res, e);
      }
    }
    if (req.method !== 'DELETE') return send(res, 405, { error: 'METHOD', message: 'DELETE /forwards/{id}' });
    let id: string;
    try {
      id = decodeURIComponent(parts[1] as string);
    } catch {
      return send(res, 400, { error: 'INVALID', message: 'bad id encoding' });
    }
    try {
      await this.target.forwards.unexpose(id);
      res.writeHead(204).end();
    } catch (e) {
      sendForwardError(res, e);
    }
  }
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      if (n > MAX_BODY) return; // discarding the rest, so the answer can still be sent
      n += c.length;
      if (n > MAX_BODY) {
        chunks.length = 0;
        reject(new BodyTooLarge(`the body is over ${MAX_BODY} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendForwardError(res: ServerResponse, e: unknown): void {
  if (!(e instanceof ForwardError)) throw e;
  const status = { INVALID: 400, EXISTS: 409, LISTEN_FAILED: 409, NOT_FOUND: 404, LIMIT: 429 }[e.code];
  send(res, status, { error: e.code, message: e.message });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}
