/**
 * A transaction's `rw/`: 9P nodes over the Overlay.
 *
 * datakit datakit.ml `irmin_rw_file` / `irmin_rw_dir`: files are created, written,
 * truncated, chmodded (+x only: git keeps no other bits), removed and renamed;
 * directories made, removed and renamed; symlinks made. Writes land in memory and
 * reach git only when the transaction commits.
 */
import { FsError, noEntry } from './errors.js';
import type { Node, OpenFile, OpenRequest, Stat } from './node.js';
import { overwrite, resize, slice } from './node.js';
import type { ODir, OFile, OLink, ONode, Overlay } from './overlay.js';

export function rwNode(ov: Overlay, n: ONode, keyBase: string): Node {
  if (n.kind === 'dir') return new RwDir(ov, n, keyBase);
  if (n.kind === 'file') return new RwFile(ov, n, keyBase);
  return new RwLink(ov, n, keyBase);
}

/** The target of a rename, which must be a directory of the same transaction's rw/. */
function dirOf(n: Node, ov: Overlay): ODir {
  if (!(n instanceof RwDir) || n.ov !== ov) throw new FsError('EXDEV', 'Cannot move across transactions or out of rw/');
  return n.dir;
}

export class RwDir implements Node {
  readonly kind = 'dir';
  readonly key: string;
  constructor(
    readonly ov: Overlay,
    readonly dir: ODir,
    private readonly keyBase: string,
  ) {
    this.key = `${keyBase}#${dir.id}`;
  }

  get name(): string {
    return this.dir.parent === undefined ? 'rw' : this.dir.name;
  }

  stat(): Promise<Stat> {
    if (this.dir.removed) return Promise.reject(noEntry());
    return Promise.resolve({ size: 0, perm: 0o755, version: this.dir.version });
  }

  async lookup(name: string): Promise<Node> {
    return rwNode(this.ov, await this.ov.lookup(this.dir, name), this.keyBase);
  }

  async list(): Promise<readonly Node[]> {
    return [...(await this.ov.children(this.dir)).values()].map((c) => rwNode(this.ov, c, this.keyBase));
  }

  async mkdir(name: string): Promise<Node> {
    return rwNode(this.ov, await this.ov.exclusive(() => this.ov.mkdir(this.dir, name)), this.keyBase);
  }

  async create(name: string, perm: number): Promise<Node> {
    return rwNode(this.ov, await this.ov.exclusive(() => this.ov.createFile(this.dir, name, (perm & 0o111) !== 0)), this.keyBase);
  }

  async symlink(name: string, target: string): Promise<Node> {
    return rwNode(this.ov, await this.ov.exclusive(() => this.ov.symlink(this.dir, name, target)), this.keyBase);
  }

  unlink(name: string, dir: boolean): Promise<void> {
    return this.ov.exclusive(() => this.ov.unlink(this.dir, name, dir));
  }

  rename(oldName: string, newDir: Node, newName: string): Promise<void> {
    const to = dirOf(newDir, this.ov);
    return this.ov.exclusive(() => this.ov.rename(this.dir, oldName, to, newName));
  }
}

export class RwFile implements Node {
  readonly kind = 'file';
  readonly key: string;
  constructor(
    private readonly ov: Overlay,
    private readonly file: OFile,
    keyBase: string,
  ) {
    this.key = `${keyBase}#${file.id}`;
  }

  get name(): string {
    return this.file.name;
  }

  async stat(): Promise<Stat> {
    return { size: await this.ov.size(this.file), perm: this.file.exec ? 0o755 : 0o644, version: this.file.version };
  }

  async open(req: OpenRequest): Promise<OpenFile> {
    // The contents, held while this fid is open (an unchanged file's blob is not kept by the
    // overlay: the store gives the same copy back on each read while someone holds it).
    const held: { data?: Uint8Array } = {};
    if (req.write && req.truncate) await this.ov.exclusive(() => this.ov.setData(this.file, new Uint8Array(0)));
    else held.data = await this.ov.read(this.file);
    return {
      read: async (offset, count) => slice((held.data = await this.ov.read(this.file)), offset, count),
      write: async (offset, data) => {
        if (!req.write) throw new FsError('EBADF', 'Not open for writing');
        const end = offset + data.length;
        if (end > this.ov.maxBytes) throw new FsError('EFBIG', `Files are limited to ${this.ov.maxBytes} bytes`);
        return this.ov.exclusive(async () => {
          const old = await this.ov.read(this.file);
          // Copy on first write: the loaded blob may be shared with the store's view.
          const base = this.file.oid !== undefined ? old.slice() : old;
          await this.ov.setData(this.file, overwrite(base, offset, data));
          return data.length;
        });
      },
    };
  }

  async truncate(size: number): Promise<void> {
    if (size > this.ov.maxBytes) throw new FsError('EFBIG', `Files are limited to ${this.ov.maxBytes} bytes`);
    await this.ov.exclusive(async () => this.ov.setData(this.file, resize(await this.ov.read(this.file), size)));
  }

  chmod(exec: boolean): Promise<void> {
    return this.ov.exclusive(() => {
      if (this.file.removed) return Promise.reject(noEntry());
      this.ov.setExec(this.file, exec);
      return Promise.resolve();
    });
  }
}

export class RwLink implements Node {
  readonly kind = 'symlink';
  readonly key: string;
  constructor(
    private readonly ov: Overlay,
    private readonly link: OLink,
    keyBase: string,
  ) {
    this.key = `${keyBase}#${link.id}`;
  }

  get name(): string {
    return this.link.name;
  }

  async stat(): Promise<Stat> {
    return { size: new TextEncoder().encode(await this.ov.linkTarget(this.link)).length, perm: 0o777 };
  }

  readlink(): Promise<string> {
    return this.ov.linkTarget(this.link);
  }

  open(): Promise<OpenFile> {
    return Promise.reject(new FsError('ELOOP', 'Is a symbolic link'));
  }

  truncate(): Promise<void> {
    return Promise.reject(new FsError('EINVAL', 'Is a symbolic link'));
  }

  chmod(): Promise<void> {
    return Promise.resolve();
  }
}

