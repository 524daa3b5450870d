/**
 * Kitbox settings: what the VM gets (CPUs, memory, disk) and where the Docker socket
 * lives. Read from a JSON file; every problem is reported at once, each with the field
 * it concerns, and nothing invalid is ever half-applied.
 */
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

export interface Settings {
  /** vCPUs given to the VM (1 .. host CPUs). */
  cpus: number;
  /** VM memory in MiB (512 .. 3/4 of host memory). */
  memoryMiB: number;
  /** Size of the Docker data disk in GiB (8 .. 2048); it grows sparsely. */
  diskGiB: number;
  /** Host Unix socket relaying the Docker API; owner-only. */
  dockerSocket: string;
}

export interface HostLimits {
  cpus: number;
  memoryMiB: number;
  home?: string;
  /** Kitbox's run folder (default ~/.kitbox/run): where the default Docker socket goes. */
  runDir?: string;
}

export class SettingsError extends Error {
  readonly code = 'INVALID_SETTINGS';
  readonly problems: readonly string[];

  constructor(source: string, problems: string[]) {
    super(`${source}: invalid settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SettingsError';
    this.problems = problems;
  }
}

export function defaultSettings(host: HostLimits): Settings {
  return {
    cpus: Math.max(1, Math.min(4, host.cpus)),
    memoryMiB: Math.max(512, Math.min(4096, Math.floor((host.memoryMiB / 2 / 256)) * 256)),
    diskGiB: 64,
    dockerSocket: join(host.runDir ?? join(host.home ?? homedir(), '.kitbox', 'run'), 'docker.sock'),
  };
}

const KNOWN = new Set(['cpus', 'memoryMiB', 'diskGiB', 'dockerSocket']);
// sockaddr_un.sun_path is 108 bytes on Linux (104 on macOS), including the NUL.
const MAX_SOCKET_PATH = 103;

/**
 * Parses settings text (JSON). Missing fields take their defaults; unknown fields,
 * wrong types and out-of-range values are errors naming the field.
 *
 * @example
 * const s = parseSettings('{"cpus": 2}', { cpus: 8, memoryMiB: 16384 }, '~/.kitbox/settings.json');
 */
export function parseSettings(text: string, host: HostLimits, source = 'settings'): Settings {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new SettingsError(source, [`not valid JSON: ${(err as Error).message}`]);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new SettingsError(source, ['the file must hold a JSON object, e.g. {"cpus": 2}']);
  }
  const obj = raw as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(obj)) {
    if (!KNOWN.has(key)) problems.push(`unknown setting "${key}" (known: ${[...KNOWN].join(', ')})`);
  }
  const s = defaultSettings(host);
  const maxMem = Math.floor((host.memoryMiB * 3) / 4);
  const int = (key: 'cpus' | 'memoryMiB' | 'diskGiB', min: number, max: number, unit: string): void => {
    const v = obj[key];
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      problems.push(`"${key}" must be a whole number${unit ? ` of ${unit}` : ''}, got ${JSON.stringify(v)}`);
    } else if (v < min || v > max) {
      problems.push(`"${key}" must be between ${min} and ${max}${unit ? ` ${unit}` : ''}, got ${v}`);
    } else {
      s[key] = v;
    }
  };
  int('cpus', 1, host.cpus, '');
  int('memoryMiB', 512, Math.max(512, maxMem), 'MiB');
  int('diskGiB', 8, 2048, 'GiB');
  const sock = obj.dockerSocket;
  if (sock !== undefined) {
    if (typeof sock !== 'string' || !isAbsolute(sock)) {
      problems.push(`"dockerSocket" must be an absolute path, got ${JSON.stringify(sock)}`);
    } else if (Buffer.byteLength(sock) > MAX_SOCKET_PATH) {
      problems.push(`"dockerSocket" is ${Buffer.byteLength(sock)} bytes; Unix socket paths are limited to ${MAX_SOCKET_PATH}`);
    } else if (sock.includes('\0')) {
      problems.push('"dockerSocket" must not contain NUL');
    } else {
      s.dockerSocket = sock;
    }
  }
  if (problems.length) throw new SettingsError(source, problems);
  return s;
}
