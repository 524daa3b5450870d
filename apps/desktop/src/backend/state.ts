/** The daemon's state file: written atomically, read by `kitbox status|start|stop`. */
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';

export interface DaemonState {
  status: 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';
  pid: number;
  driver?: string;
  accel?: string;
  startedAt?: string;
  /** Seconds from kernel start to dockerd answering, as the guest agent reported it. */
  dockerReadySeconds?: number;
  /** Seconds from `kitbox start` to dockerd answering. */
  startSeconds?: number;
  guestIp?: string;
  /** The host socket relaying the Docker API, once it answers. */
  dockerSocket?: string;
  message?: string;
}

export async function writeState(file: string, state: DaemonState): Promise<void> {
  await writeFile(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}

export function readState(file: string): DaemonState | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DaemonState;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
