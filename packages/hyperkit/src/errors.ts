/**
 * Typed errors for @kitbox/hyperkit (CONVENTIONS.md #8): every error has a stable `code`
 * and structured `data`, so callers branch on codes, never on messages.
 */
export class HyperkitError extends Error {
  readonly code: string;
  readonly data: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, data: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.data = data;
  }
}

/** A failed system call. `code` is the errno name (`ENOENT`, `EINVAL`, ...). */
export class SyscallError extends HyperkitError {
  readonly errno: number;
  readonly syscall: string;

  constructor(syscall: string, errno: number, errnoName: string, detail?: string) {
    super(errnoName, `${syscall}${detail ? ` (${detail})` : ''} failed: ${errnoName} (errno ${errno})`, {
      syscall,
      errno,
    });
    this.errno = errno;
    this.syscall = syscall;
  }
}
