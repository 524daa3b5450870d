/**
 * `/debug/`: what the server is and what it is doing, read-only.
 *
 *   version  "@kitbox/datakit <version>\n"
 *   stats    one "<name> <count>\n" line each, taken when the file is opened:
 *              connections        9P connections open now
 *              connections-total  connections served since the server started
 *              transactions       transactions open now, on every connection
 *              commits            transactions committed since the server started
 *              branch-updates     branch moves made by this server (commits, merges,
 *                                 fast-forwards, renames)
 *              uptime-seconds     since the server started
 *              fsyncs             fsync calls made (files and directories; 0 when
 *                                 served with fsync 'never')
 *
 * datakit's `debug/` holds its log sources and their levels (Vfs.Logs); this server has
 * no log sources to tune, so it offers counters instead.
 */
import { createRequire } from 'node:module';
import type { Node } from './node.js';
import { constFile, enc, StaticDir, StatusFile } from './node.js';

export interface DebugCounters {
  connections(): number;
  connectionsTotal(): number;
  transactions(): number;
  commits(): number;
  branchUpdates(): number;
  /** Seconds since the server started. */
  uptime(): number;
  fsyncs(): number;
}

function packageVersion(): string {
  try {
    // The same relative path from src/fs and dist/fs.
    const pkg = createRequire(import.meta.url)('../../package.json') as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

const VERSION = `@kitbox/datakit ${packageVersion()}\n`;

export function debugDir(c: DebugCounters): Node {
  const stats = (): string =>
    [
      ['connections', c.connections()],
      ['connections-total', c.connectionsTotal()],
      ['transactions', c.transactions()],
      ['commits', c.commits()],
      ['branch-updates', c.branchUpdates()],
      ['uptime-seconds', Math.floor(c.uptime())],
      ['fsyncs', c.fsyncs()],
    ]
      .map(([k, v]) => `${k} ${v}\n`)
      .join('');
  const children: Node[] = [constFile('version', 'debug/version', VERSION), new StatusFile('stats', 'debug/stats', () => Promise.resolve(enc.encode(stats())))];
  return new StaticDir('debug', 'debug', () => children);
}
