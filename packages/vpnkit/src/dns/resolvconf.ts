/**
 * resolv.conf(5): "nameserver Name server IP address [...] Up to MAXNS
 * (currently 3) name servers may be listed, one per keyword." Lines starting
 * with ';' or '#' are comments. 'search', 'domain' and 'options' concern the
 * host's own resolver and are ignored here: the guest has its own.
 */
import { isIP } from 'node:net';
import type { DnsServerAddress } from './transport.js';

/** More than glibc's 3, fewer than a hostile file could list. */
export const MAX_NAMESERVERS = 8;

export function parseResolvConf(text: string): DnsServerAddress[] {
  const out: DnsServerAddress[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/[#;].*/, '').trim();
    const [keyword, value] = line.split(/\s+/);
    if (keyword !== 'nameserver' || value === undefined) continue;
    // A link-local IPv6 server may carry a zone ('fe80::1%eth0'); Node's sockets accept it.
    const host = value.replace(/^\[(.*)\]$/, '$1');
    if (isIP(host.split('%')[0] ?? '') === 0) continue;
    if (out.some((s) => s.host === host)) continue;
    out.push({ host, port: 53 });
    if (out.length >= MAX_NAMESERVERS) break;
  }
  return out;
}
