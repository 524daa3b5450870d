/**
 * `kitbox diagnose`: what this host can run, checked by exercising the kits for real
 * (not by looking for files): KVM through hyperkit's FFI, a git store through datakit,
 * 9P and Ethernet codecs, and the host tools the VM driver will use.
 */
import { execFile } from 'node:child_process';
import { constants, existsSync } from 'node:fs';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { Store } from '@kitbox/datakit';
import { Kvm, KvmCap, runProbeGuest } from '@kitbox/hyperkit';
import { decode as decode9p, encode as encode9p } from '@kitbox/p9p';
import {
  ArpOperation,
  ArpPacket,
  ArpRepr,
  describeFrame,
  EtherType,
  EthernetAddress,
  EthernetFrame,
  EthernetRepr,
  Ipv4Address,
  parseFrame,
} from '@kitbox/vpnkit';

const run = promisify(execFile);

export interface Check {
  /** Which part of Kitbox the check exercises. */
  area: 'hyperkit' | 'vpnkit' | 'p9p' | 'datakit' | 'host';
  name: string;
  ok: boolean;
  /** What was seen (a version, a figure) or why it failed. */
  detail: string;
  /** A missing optional capability is reported but is not a failure. */
  optional?: boolean;
}

export interface DiagnoseOptions {
  kvmPath?: string;
}

async function attempt(area: Check['area'], name: string, fn: () => Promise<string> | string, optional = false): Promise<Check> {
  try {
    return { area, name, ok: true, detail: await fn(), optional };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    // One line per check: a failed command's message carries its whole output.
    return { area, name, ok: false, detail: firstLine(e.message ?? String(err)), optional };
  }
}

const firstLine = (s: string): string => s.trim().split('\n')[0] ?? '';

/** The path of `cmd` in PATH (plus the sbin folders diod lives in), or an error saying so. */
async function findExecutable(cmd: string): Promise<string> {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const path = join(dir, cmd);
    try {
      await access(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  throw new Error(`${cmd} not found in PATH`);
}

/** `cmd` found and answering `versionArgs`; diod has no version flag, so it is only located. */
async function tool(cmd: string, versionArgs: string[] | undefined): Promise<string> {
  const path = await findExecutable(cmd);
  if (!versionArgs) return `found at ${path}`;
  const { stdout, stderr } = await run(path, versionArgs, { timeout: 10_000 });
  return firstLine(`${stdout}${stderr}`);
}

export async function diagnose({ kvmPath = '/dev/kvm' }: DiagnoseOptions = {}): Promise<Check[]> {
  const checks: Promise<Check>[] = [];

  checks.push(
    attempt('hyperkit', `KVM at ${kvmPath}`, () => {
      const kvm = Kvm.open({ path: kvmPath });
      try {
        const { recommended, max } = kvm.vcpuLimits();
        const caps = (['IRQCHIP', 'USER_MEMORY', 'SET_TSS_ADDR', 'IRQFD', 'IOEVENTFD'] as const).filter(
          (c) => kvm.checkExtension(KvmCap[c]) > 0,
        );
        return `API ${kvm.apiVersion()}, vCPUs ${recommended} recommended / ${max} max, caps: ${caps.join(' ')}`;
      } finally {
        kvm.close();
      }
    }, true),
  );
  checks.push(
    attempt('hyperkit', 'run a guest (12-byte real-mode program: add, out to COM1, hlt)', () => {
      const r = runProbeGuest({ path: kvmPath, a: 2, b: 3 });
      if (r.output !== '5\n') throw new Error(`the guest wrote ${JSON.stringify(r.output)}, expected "5\\n"`);
      return `guest computed 2+3 and wrote "5\\n" to port 0x3f8, then halted: ${r.exits} VM exits, ${r.ms.toFixed(1)} ms`;
    }, true),
  );

  checks.push(
    attempt('datakit', 'git store: commit and compare-and-swap', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'kitbox-diagnose-'));
      try {
        const store = await Store.open({ gitdir: join(dir, 'state.git') });
        const blob = await store.writeBlob(new TextEncoder().encode('hello from kitbox diagnose\n'));
        const tree = await store.writeTree([{ mode: '100644', path: 'hello', oid: blob, type: 'blob' }]);
        const author = { name: 'kitbox', email: 'kitbox@localhost', timestamp: Math.floor(Date.now() / 1000) };
        const commit = await store.writeCommit({ tree, parents: [], message: 'diagnose\n', author });
        await store.updateBranch('master', undefined, commit);
        let fsck = 'git not installed: fsck skipped';
        if (existsSync('/usr/bin/git')) {
          await run('git', ['--git-dir', store.gitdir, 'fsck', '--strict'], { timeout: 10_000 });
          fsck = 'git fsck --strict clean';
        }
        return `commit ${commit.slice(0, 12)} on master; ${fsck}`;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }),
  );

  checks.push(
    attempt('p9p', '9P2000.L version handshake frames', () => {
      const frame = encode9p({ type: 'Tversion', tag: 0xffff, msize: 131072, version: '9P2000.L' }, '9P2000.L');
      const back = decode9p(frame, '9P2000.L', { maxSize: 131072 });
      if (back.type !== 'Tversion' || back.msize !== 131072) throw new Error(`round trip gave ${JSON.stringify(back)}`);
      return `Tversion msize=131072 "9P2000.L" encoded to ${frame.length} bytes and decoded back`;
    }),
  );

  checks.push(
    attempt('vpnkit', 'Ethernet/ARP frames (what the VM will send first)', () => {
      const eth: EthernetRepr = {
        src: EthernetAddress.parse('02:50:00:00:00:02'),
        dst: EthernetAddress.parse('ff:ff:ff:ff:ff:ff'),
        etherType: EtherType.Arp,
      };
      const arp: ArpRepr = {
        operation: ArpOperation.Request,
        senderHardwareAddr: eth.src,
        senderProtocolAddr: Ipv4Address.parse('192.168.65.3'),
        targetHardwareAddr: EthernetAddress.parse('00:00:00:00:00:00'),
        targetProtocolAddr: Ipv4Address.parse('192.168.65.1'),
      };
      const buf = new Uint8Array(EthernetRepr.headerLen(eth) + ArpRepr.bufferLen(arp));
      const frame = EthernetRepr.emit(eth, EthernetFrame.unchecked(buf));
      ArpRepr.emit(arp, ArpPacket.unchecked(frame.payload));
      const parsed = parseFrame(buf);
      if (parsed.network.kind !== 'arp' || parsed.network.arp.targetProtocolAddr !== arp.targetProtocolAddr) {
        throw new Error('the ARP request did not parse back');
      }
      return describeFrame(buf);
    }),
  );

  const hostTools: [string, string[] | undefined, string][] = [
    ['qemu-system-x86_64', ['--version'], 'QEMU (the VM driver until hyperkit has net and vsock)'],
    ['qemu-img', ['--version'], 'qemu-img (disk images)'],
    ['diod', undefined, 'diod (9P peer for tests)'],
    ['git', ['--version'], 'git'],
    ['docker', ['--version'], 'docker CLI (talks to the VM engine)'],
  ];
  for (const [cmd, args, label] of hostTools) {
    checks.push(attempt('host', label, () => tool(cmd, args), cmd === 'docker' || cmd === 'diod'));
  }
  return Promise.all(checks);
}

export function formatChecks(checks: readonly Check[]): string {
  const width = Math.max(...checks.map((c) => c.area.length));
  return checks
    .map((c) => `${c.ok ? ' ok ' : c.optional ? 'n/a ' : 'FAIL'}  ${c.area.padEnd(width)}  ${c.name}: ${c.detail}`)
    .join('\n');
}
