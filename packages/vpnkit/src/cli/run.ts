/**
 * The `vpnkit` command: a Stack with its links, DNS, port forwarding and
 * capture, from flags (see args.ts).  Runs until SIGINT/SIGTERM, then
 * closes every link, listener and host socket.
 */
import { createRequire } from 'node:module';
import { ControlServer } from '../control/server.js';
import { DnsForwarder } from '../dns/index.js';
import { QemuStreamServer } from '../link/qemu.js';
import { TapLink } from '../link/tap/index.js';
import { VmnetServer, defaultVif } from '../link/vmnet.js';
import type { VmnetCommand, VmnetVif } from '../link/vmnet-proto.js';
import { Stack } from '../stack/stack.js';
import type { StackOptions } from '../stack/config.js';
import { resolveStackConfig } from '../stack/config.js';
import { Ipv4Address, Ipv6Address } from '../wire/index.js';
import { parseArgs, USAGE, UsageError, type CliOptions } from './args.js';
import { CaptureFile } from './capture.js';

function stackOptions(o: CliOptions): StackOptions {
  const s: { -readonly [K in keyof StackOptions]: StackOptions[K] } = {};
  if (o.network !== undefined && o.prefixLen !== undefined) {
    const n = o.network;
    const bcast = (n | ~Ipv4Address.netmask(o.prefixLen)) >>> 0;
    s.network = n;
    s.prefixLen = o.prefixLen;
    s.gatewayIp = o.gatewayIp ?? n + 1;
    s.hostIp = o.hostIp ?? n + 2;
    s.rangeStart = n + 3;
    s.rangeEnd = bcast - 1;
  } else {
    if (o.gatewayIp !== undefined) s.gatewayIp = o.gatewayIp;
    if (o.hostIp !== undefined) s.hostIp = o.hostIp;
  }
  if (o.mtu !== undefined) s.mtu = o.mtu;
  if (o.domain !== undefined) s.domainName = o.domain;
  if (o.ipv6Prefix !== undefined) s.ipv6Prefix = o.ipv6Prefix;
  if (o.noIpv6 === true) s.ipv6 = false;
  return s;
}

/** The built-in names get their IPv6 addresses too (AAAA) when IPv6 is on. */
function v6Names(config: StackOptions, names: Record<string, string[]>): Record<string, string[]> {
  const c = resolveStackConfig(config);
  if (!c.ipv6) return names;
  return {
    'host.docker.internal': [...(names['host.docker.internal'] ?? []), Ipv6Address.format(c.hostIpv6)],
    'gateway.docker.internal': [...(names['gateway.docker.internal'] ?? []), Ipv6Address.format(c.gatewayIpv6)],
  };
}

/**
 * hyperkit's `preferred_ipv4=`: the address is pinned to the VIF's MAC in the DHCP pool, so
 * the guest's DHCP client gets it; one outside the pool, pinned to another VIF or leased to
 * another guest refuses the connection with the reason (moby/vpnkit refuses it likewise).
 * The pin is dropped when the VIF disconnects.
 */
function vifFor(stack: Stack, cmd: VmnetCommand): VmnetVif | string {
  const vif = defaultVif(cmd, stack.config.mtu);
  if (cmd.kind !== 'preferredIpv4') return vif;
  const ip = Ipv4Address.format(cmd.ip);
  if (stack.gateway.dhcp.reserve(vif.mac, cmd.ip, stack.clock.now())) {
    console.error(`vpnkit: ${ip} reserved for VIF ${cmd.uuid}`);
    return vif;
  }
  console.error(`vpnkit: refused VIF ${cmd.uuid}: preferred IPv4 ${ip} is outside the DHCP pool or taken`);
  return `preferred IPv4 address ${ip} is not available (outside the DHCP pool or used by another VIF or guest)`;
}

export async function main(argv: string[]): Promise<number> {
  let o: CliOptions;
  try {
    o = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`vpnkit: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  if (o.help) {
    console.log(USAGE);
    return 0;
  }
  if (o.version) {
    console.log(`vpnkit (@kitbox/vpnkit) ${(createRequire(import.meta.url)('../../package.json') as { version: string }).version}`);
    return 0;
  }
  const config = stackOptions(o);
  const gatewayIp = Ipv4Address.format(config.gatewayIp ?? Ipv4Address.parse('192.168.65.1'));
  const hostIp = Ipv4Address.format(config.hostIp ?? Ipv4Address.parse('192.168.65.2'));
  const dns = new DnsForwarder({
    ...(o.dns.length > 0 ? { upstreams: o.dns } : {}),
    ...(o.hosts !== undefined ? { hosts: o.hosts } : {}),
    names: v6Names(config, { 'host.docker.internal': [hostIp], 'gateway.docker.internal': [gatewayIp] }),
  });
  const tcp = o.tcpBufferMiB !== undefined ? { tcp: { bufferMemory: o.tcpBufferMiB * 1024 * 1024 } } : {};
  const stack = new Stack({ ...config, dns, ...tcp });
  stack.start();
  const closers: Array<() => Promise<void> | void> = [];
  try {
    if (o.pcap !== undefined) {
      const path = o.pcap;
      const file = await CaptureFile.open(path, undefined, (err) => console.error(`vpnkit: --pcap ${path}: ${err.message}; capture stopped`));
      stack.switch.capture((f) => file.record(f));
      closers.push(async () => {
        stack.switch.capture(undefined);
        const s = await file.close();
        if (s.dropped > 0) console.error(`vpnkit: --pcap ${path}: ${s.frames} frames recorded, ${s.dropped} not (the file could not keep up)`);
      });
    }
    for (const path of o.ethernet) {
      const server = new VmnetServer(
        (c) => {
          // A preferred address is pinned for as long as its VIF is connected.
          void stack.addLink(c.link).finally(() => {
            if (c.command.kind === 'preferredIpv4') stack.gateway.dhcp.unreserve(c.vif.mac);
          });
        },
        { mtu: stack.config.mtu, vifFor: (cmd) => vifFor(stack, cmd) },
      );
      await server.listen(path);
      closers.push(() => server.close());
      console.error(`vpnkit: VMN3T on unix:${path}`);
    }
    for (const path of o.qemu) {
      const server = new QemuStreamServer((l) => void stack.addLink(l));
      await server.listen(path);
      closers.push(() => server.close());
      console.error(`vpnkit: QEMU stream on unix:${path}`);
    }
    for (const name of o.tap) {
      const tap = TapLink.open({ name });
      void stack.addLink(tap);
      console.error(`vpnkit: TAP ${tap.name}`);
    }
    if (o.portControl !== undefined) {
      const control = new ControlServer(stack);
      await control.listen(o.portControl);
      closers.push(() => control.close());
      console.error(`vpnkit: port control on unix:${o.portControl}`);
    }
    for (const f of o.forwards) {
      const fwd = await stack.forwards.expose(f);
      const at = (ip: string, port: number): string => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
      console.error(`vpnkit: forwarding ${fwd.proto} ${at(fwd.hostIp, fwd.hostPort)} -> ${at(fwd.guestIp, fwd.guestPort)}`);
    }
  } catch (err) {
    console.error(`vpnkit: ${(err as Error).message}`);
    for (const c of closers.reverse()) await c();
    await stack.close();
    dns.close();
    return 1;
  }
  const c = stack.config;
  const v6 = c.ipv6 ? `; IPv6 gateway ${Ipv6Address.format(c.gatewayIpv6)}, host alias ${Ipv6Address.format(c.hostIpv6)}` : '';
  console.error(`vpnkit: gateway ${gatewayIp}, host alias ${hostIp}, MTU ${c.mtu}${v6}; Ctrl-C stops`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  for (const c of closers.reverse()) await c();
  await stack.close();
  dns.close();
  return 0;
}

