/** Where the backend keeps its state: `~/.kitbox` (owner-only). */
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface KitboxPaths {
  home: string;
  settings: string;
  runDir: string;
  pidFile: string;
  stateFile: string;
  logDir: string;
  consoleLog: string;
  daemonLog: string;
  dataDisk: string;
}

export function kitboxPaths(home = process.env.KITBOX_HOME ?? join(homedir(), '.kitbox')): KitboxPaths {
  return {
    home,
    settings: join(home, 'settings.json'),
    runDir: join(home, 'run'),
    pidFile: join(home, 'run', 'daemon.pid'),
    stateFile: join(home, 'run', 'state.json'),
    logDir: join(home, 'log'),
    consoleLog: join(home, 'log', 'console.log'),
    daemonLog: join(home, 'log', 'daemon.log'),
    dataDisk: join(home, 'disks', 'docker-data.qcow2'),
  };
}
