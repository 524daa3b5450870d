/**
 * Test fixture: a network namespace whose only interface is a TAP served by
 * a `Stack`, configured by busybox udhcpc from the stack's DHCP server.
 * The Linux kernel's own TCP/IP in the namespace is the peer.  Not part of
 * the package (excluded from the build).
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TapLink } from '../link/tap/index.js';
import type { Link } from '../switch/link.js';
import type { Stack } from './stack.js';

const run = promisify(execFile);

const hasIp = existsSync('/usr/sbin/ip') || existsSync('/sbin/ip') || existsSync('/bin/ip');
const hasBusybox = existsSync('/usr/bin/busybox') || existsSync('/bin/busybox');
const isRoot = process.getuid?.() === 0;

/** Why namespace tests cannot run here ('' when they can). */
export const netnsSkipReason = !isRoot
  ? 'not root'
  : !existsSync('/dev/net/tun')
    ? '/dev/net/tun is absent'
    : !hasIp
      ? 'ip(8) is absent'
      : !hasBusybox
        ? 'busybox is absent'
        : '';

export interface NetnsGuest {
  readonly ns: string;
  readonly tap: string;
  /** The leased address. */
  readonly ip: string;
  /** udhcpc's view of the lease: `LEASE ip=... subnet=... router=... dns=... domain=... mtu=... lease=... serverid=...`. */
  readonly lease: string;
  readonly dir: string;
  /** Run a command inside the namespace; never rejects (look at `code`). */
  exec(argv: string[], opts?: { timeoutMs?: number; input?: string }): Promise<{ code: number; stdout: string; stderr: string; ms: number }>;
  close(): Promise<void>;
}

let counter = 0;

/** Create the namespace, attach its TAP to `stack` (through `wrap` if given) and get a DHCP lease. */
export async function startNetnsGuest(stack: Stack, opts: { wrap?: (l: Link) => Link; offload?: boolean } = {}): Promise<NetnsGuest> {
  const suffix = `${process.pid % 10000}${counter++}${Math.floor(Math.random() * 100)}`;
  const ns = `vk-${suffix}`;
  const tapName = `vk${suffix}`.slice(0, 15);
  const dir = mkdtempSync(join(tmpdir(), 'vpnkit-ns-'));
  execFileSync('ip', ['netns', 'add', ns]);
  const tap = TapLink.open({ name: tapName, offload: opts.offload === true });
  const link = opts.wrap?.(tap) ?? tap;
  void stack.addLink(link);
  execFileSync('ip', ['link', 'set', tapName, 'netns', ns]);
  execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  execFileSync('ip', ['-n', ns, 'link', 'set', tapName, 'up']);
  const script = join(dir, 'udhcpc.sh');
  writeFileSync(
    script,
    [
      '#!/bin/sh',
      'case "$1" in',
      '  deconfig) ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;',
      '  bound|renew)',
      '    ip addr add "$ip/$subnet" dev "$interface"',
      '    [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"',
      '    ip route add default via "$router" dev "$interface"',
      '    echo "LEASE ip=$ip subnet=$subnet router=$router dns=$dns domain=$domain mtu=$mtu lease=$lease serverid=$serverid"',
      '    ;;',
      'esac',
      'exit 0',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  const exec: NetnsGuest['exec'] = (argv, o = {}) =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code: code ?? (signal !== null ? 128 : 1), stdout, stderr, ms: performance.now() - t0 });
      });
      // A command that exits without reading its stdin makes the write fail with EPIPE.
      child.stdin.on('error', () => undefined);
      child.stdin.end(o.input ?? '');
    });
  const dhcp = await run('ip', ['netns', 'exec', ns, 'busybox', 'udhcpc', '-i', tapName, '-n', '-q', '-f', '-s', script, '-O', 'mtu', '-t', '5', '-T', '2'], {
    timeout: 30_000,
  });
  const lease = dhcp.stdout.split('\n').find((l) => l.startsWith('LEASE ')) ?? '';
  const ip = /LEASE ip=(\S+)/.exec(lease)?.[1];
  if (ip === undefined) throw new Error(`no DHCP lease in ${ns}: ${dhcp.stdout} ${dhcp.stderr}`);
  return {
    ns,
    tap: tapName,
    ip,
    lease,
    dir,
    exec,
    async close() {
      await stack.switch.removeLink(link).catch(() => undefined);
      try {
        execFileSync('ip', ['netns', 'del', ns]);
      } catch {
        /* already gone */
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * An HTTP server on the host for transfer tests, listening on `host` (a loopback address):
 * GET /download?mib=N streams N copies of `block`; PUT /upload answers "SHA256 BYTES" of the
 * body, and " PEER" (the client address the host saw) with `reportPeer`.
 */
export function startTransferServer(opts: { host: string; block: Uint8Array; reportPeer?: boolean }): Promise<{ server: HttpServer; port: number }> {
  const { host, block, reportPeer = false } = opts;
  const server = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/download') {
      const n = Number(url.searchParams.get('mib') ?? '1');
      res.writeHead(200, { 'content-length': String(n * block.length), 'content-type': 'application/octet-stream' });
      let i = 0;
      const pump = (): void => {
        while (i < n) {
          i++;
          if (!res.write(block)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
      return;
    }
    if (url.pathname === '/upload') {
      const h = createHash('sha256');
      let bytes = 0;
      req.on('data', (c: Buffer) => {
        bytes += c.length;
        h.update(c);
      });
      req.on('end', () => res.end(`${h.digest('hex')} ${bytes}${reportPeer ? ` ${req.socket.remoteAddress}` : ''}\n`));
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(0, host, () => resolve({ server, port: (server.address() as AddressInfo).port })));
}
