/*
 * Plan 9 dial strings.
 *
 * dial(2): "A dial string has the form net!netaddr!service ... net is the
 *   network protocol ... netaddr is the host ... service is the ... port".
 *   Here: tcp!host!port and unix!/path ("net" meaning tcp). Port 564 is
 *   9P's registered port ("9fs", "9pfs").
 */
import { P9Error } from '../codec/errors.js';

export type Address = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

/** 9P's registered TCP port. */
export const DEFAULT_PORT = 564;

const SERVICES: Readonly<Record<string, number>> = { '9fs': 564, '9pfs': 564, styx: 564 };

/**
 * Parses `tcp!host!port`, `net!host!port`, `tcp!host` (port 564), `unix!/path`.
 * Port 0 is allowed (listen on an ephemeral port).
 * Throws P9Error('EINVAL').
 *
 * @example
 *   parseDialString('tcp!127.0.0.1!5640'); // { kind: 'tcp', host: '127.0.0.1', port: 5640 }
 */
export function parseDialString(s: string): Address {
  const bang = s.indexOf('!');
  const net = bang < 0 ? '' : s.slice(0, bang);
  const rest = bang < 0 ? '' : s.slice(bang + 1);
  if (net === 'unix') {
    if (rest === '') throw new P9Error('EINVAL', `dial string ${JSON.stringify(s)}: no path`);
    return { kind: 'unix', path: rest };
  }
  if (net === 'tcp' || net === 'net') {
    const parts = rest.split('!');
    const host = parts[0] ?? '';
    if (host === '' || parts.length > 2) throw new P9Error('EINVAL', `dial string ${JSON.stringify(s)}: expected tcp!host!port`);
    const service = parts[1] ?? String(DEFAULT_PORT);
    const port = SERVICES[service] ?? (/^\d+$/.test(service) ? Number(service) : NaN);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new P9Error('EINVAL', `dial string ${JSON.stringify(s)}: bad port ${JSON.stringify(service)}`);
    }
    return { kind: 'tcp', host: host === '*' ? '0.0.0.0' : host, port };
  }
  throw new P9Error('EINVAL', `dial string ${JSON.stringify(s)}: network must be tcp or unix`);
}

/** The dial string of an address. */
export function formatDialString(a: Address): string {
  return a.kind === 'unix' ? `unix!${a.path}` : `tcp!${a.host}!${a.port}`;
}
