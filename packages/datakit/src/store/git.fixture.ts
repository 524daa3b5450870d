import { execFileSync } from 'node:child_process';

/** Whether the `git` CLI is there (tests that check interop with it are skipped otherwise). */
export const hasGit = ((): boolean => {
  try {
    execFileSync('git', ['--version']);
    return true;
  } catch {
    return false;
  }
})();
