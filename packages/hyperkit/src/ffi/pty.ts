/**
 * Pseudo-terminals for `-l com1,autopty`: posix_openpt(3) + grantpt + unlockpt + ptsname_r,
 * with the terminal put in raw mode (cfmakeraw) so that the guest's bytes pass unchanged and
 * nothing is echoed back to it. On Linux, termios set through the master applies to the pair.
 */
import koffi from 'koffi';
import { SyscallError } from '../errors.js';
import { errnoName } from './errno.js';
import { O_CLOEXEC, O_RDWR } from './libc.js';

const O_NOCTTY = 0o400;
const TERMIOS_SIZE = 64; // glibc's struct termios is 60 bytes on x86_64 and arm64
const TCSANOW = 0;

interface PtyLib {
  posixOpenpt: (flags: number) => number;
  grantpt: (fd: number) => number;
  unlockpt: (fd: number) => number;
  ptsnameR: (fd: number, buf: Uint8Array, len: number) => number;
  tcgetattr: (fd: number, t: Uint8Array) => number;
  tcsetattr: (fd: number, when: number, t: Uint8Array) => number;
  cfmakeraw: (t: Uint8Array) => void;
  close: (fd: number) => number;
}

let lib: PtyLib | undefined;

function load(): PtyLib {
  if (lib) return lib;
  if (process.platform !== 'linux') throw new SyscallError('dlopen', 0, 'ENOSYS', `pty bindings are for Linux; this is ${process.platform}`);
  const l = koffi.load('libc.so.6');
  lib = {
    posixOpenpt: l.func('int posix_openpt(int flags)') as PtyLib['posixOpenpt'],
    grantpt: l.func('int grantpt(int fd)') as PtyLib['grantpt'],
    unlockpt: l.func('int unlockpt(int fd)') as PtyLib['unlockpt'],
    ptsnameR: l.func('int ptsname_r(int fd, _Out_ uint8_t *buf, size_t len)') as PtyLib['ptsnameR'],
    tcgetattr: l.func('int tcgetattr(int fd, _Out_ uint8_t *t)') as PtyLib['tcgetattr'],
    tcsetattr: l.func('int tcsetattr(int fd, int when, const uint8_t *t)') as PtyLib['tcsetattr'],
    cfmakeraw: l.func('void cfmakeraw(_Inout_ uint8_t *t)') as PtyLib['cfmakeraw'],
    close: l.func('int close(int fd)') as PtyLib['close'],
  };
  return lib;
}

/** A pseudo-terminal master in raw mode; `path` is the terminal a user opens (screen, minicom). */
export interface Pty {
  readonly fd: number;
  readonly path: string;
}

export function openPty(): Pty {
  const c = load();
  const fd = c.posixOpenpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    const e = koffi.errno();
    throw new SyscallError('posix_openpt', e, errnoName(e));
  }
  try {
    const step = (name: string, ret: number): void => {
      if (ret === 0) return;
      // ptsname_r returns the error number; the others set errno.
      const e = name === 'ptsname_r' ? ret : koffi.errno();
      throw new SyscallError(name, e, errnoName(e));
    };
    step('grantpt', c.grantpt(fd));
    step('unlockpt', c.unlockpt(fd));
    const name = new Uint8Array(128);
    step('ptsname_r', c.ptsnameR(fd, name, name.length));
    const end = name.indexOf(0);
    const path = Buffer.from(name.subarray(0, end < 0 ? name.length : end)).toString();
    const t = new Uint8Array(TERMIOS_SIZE);
    step('tcgetattr', c.tcgetattr(fd, t));
    c.cfmakeraw(t);
    step('tcsetattr', c.tcsetattr(fd, TCSANOW, t));
    return { fd, path };
  } catch (err) {
    c.close(fd);
    throw err;
  }
}
