/**
 * Published ports on the host: follows Docker's events through the relay
 * and keeps one vpnkit forward per published port, from the host's
 * 127.0.0.1:PORT to the same port on the VM (where dockerd's proxy
 * listens), added when a container starts and removed when it stops.
 *
 * Reconciliation, not bookkeeping: on every container event (and at start,
 * and after a lost event stream) the list of running containers is read
 * again and the forwards are made to match it, so a missed event cannot
 * leave a stale or missing forward for long.
 */
import { request } from 'node:http';

export interface Forwarder {
  expose(spec: { proto: 'tcp' | 'udp'; hostIp: string; hostPort: number; guestIp: string; guestPort: number }): Promise<{ id: string }>;
  unexpose(id: string): Promise<void>;
}

interface ContainerSummary {
  Id: string;
  Ports?: Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: string }>;
}

export interface PortPublisherOptions {
  dockerSocket: string;
  guestIp: string;
  forwards: Forwarder;
  log?: (line: string) => void;
}

function getJson(socketPath: string, path: string, timeoutMs = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
        if (text.length > 16 * 1024 * 1024) req.destroy(new Error('response too large'));
      });
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`GET ${path}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
        try {
          resolve(JSON.parse(text));
        } catch (e) {
          reject(e as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}

export class PortPublisher {
  /** `${proto}:${port}` -> forward id. */
  private readonly active = new Map<string, string>();
  private closed = false;
  private events: ReturnType<typeof request> | undefined;
  private syncing: Promise<void> = Promise.resolve();
  private again = false;

  constructor(private readonly o: PortPublisherOptions) {}

  /** Start following; returns once the first reconciliation is done. */
  async start(): Promise<void> {
    this.follow();
    await this.sync();
  }

  /** The ports forwarded now, e.g. ['tcp:8080']. */
  published(): string[] {
    return [...this.active.keys()].sort();
  }

  private follow(): void {
    if (this.closed) return;
    const filters = encodeURIComponent(JSON.stringify({ type: ['container'], event: ['start', 'die', 'destroy', 'stop', 'kill'] }));
    const req = request({ socketPath: this.o.dockerSocket, path: `/events?filters=${filters}` }, (res) => {
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (d: string) => {
        buf += d;
        if (buf.length > 1024 * 1024) buf = '';
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          buf = buf.slice(nl + 1);
          void this.sync();
        }
      });
      res.on('end', () => this.retry());
      res.on('error', () => this.retry());
    });
    req.on('error', () => this.retry());
    req.end();
    this.events = req;
  }

  private retry(): void {
    if (this.closed) return;
    this.events = undefined;
    setTimeout(() => {
      this.follow();
      void this.sync();
    }, 1000).unref();
  }

  /** Make the forwards match the running containers; concurrent calls coalesce. */
  sync(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.again = true;
    this.syncing = this.syncing.then(async () => {
      while (this.again && !this.closed) {
        this.again = false;
        try {
          await this.reconcile();
        } catch (e) {
          this.o.log?.(`ports: ${(e as Error).message}`);
        }
      }
    });
    return this.syncing;
  }

  private async reconcile(): Promise<void> {
    const list = (await getJson(this.o.dockerSocket, '/containers/json')) as ContainerSummary[];
    const want = new Set<string>();
    for (const c of Array.isArray(list) ? list : []) {
      for (const p of c.Ports ?? []) {
        if (p.PublicPort === undefined || (p.Type !== 'tcp' && p.Type !== 'udp')) continue;
        if (!Number.isInteger(p.PublicPort) || p.PublicPort < 1 || p.PublicPort > 65535) continue;
        want.add(`${p.Type}:${p.PublicPort}`);
      }
    }
    for (const [key, id] of [...this.active]) {
      if (want.has(key)) continue;
      this.active.delete(key);
      await this.o.forwards.unexpose(id).catch(() => undefined);
      this.o.log?.(`ports: unpublished ${key}`);
    }
    for (const key of want) {
      if (this.active.has(key)) continue;
      const [proto, port] = key.split(':') as ['tcp' | 'udp', string];
      try {
        const f = await this.o.forwards.expose({ proto, hostIp: '127.0.0.1', hostPort: Number(port), guestIp: this.o.guestIp, guestPort: Number(port) });
        this.active.set(key, f.id);
        this.o.log?.(`ports: published ${key} on 127.0.0.1`);
      } catch (e) {
        this.o.log?.(`ports: cannot publish ${key}: ${(e as Error).message}`);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.events?.destroy();
    await this.syncing;
    for (const id of this.active.values()) await this.o.forwards.unexpose(id).catch(() => undefined);
    this.active.clear();
  }
}
