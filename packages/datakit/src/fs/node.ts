/**
 * The small virtual filesystem the 9P handler serves (after moby/datakit's `Vfs`):
 * a `Node` is a directory, file or symlink whose operations are all optional; an
 * absent one answers datakit's read-only error. An opened file is an `OpenFile`,
 * one per fid, so per-open state (a stream's position, a command's result) lives there.
 */
import { FsError, noEntry, readOnlyDir, readOnlyFile } from './errors.js';

export type Kind = 'dir' | 'file' | 'symlink';

export interface Stat {
  /** Bytes (0 for streams and command files). */
  size: number;
  /** Permission bits: 0o644, 0o755 for executables, 0o444 for read-only files. */
  perm: number;
  /** Bumped when the contents change (qid.version). */
  version?: number;
}

export interface OpenFile {
  read(offset: number, count: number, signal: AbortSignal): Promise<Uint8Array>;
  write(offset: number, data: Uint8Array): Promise<number>;
  /** The fid is clunked. */
  close?(): void;
}

export interface OpenRequest {
  write: boolean;
  truncate: boolean;
}

export interface Node {
  readonly kind: Kind;
  /** The name in its parent (may change on rename). */
  readonly name: string;
  /** Unique and stable while the node exists: qid.path is derived from it. */
  readonly key: string;
  stat(): Promise<Stat>;
  // Directories.
  lookup?(name: string): Promise<Node>;
  list?(): Promise<readonly Node[]>;
  mkdir?(name: string): Promise<Node>;
  create?(name: string, perm: number): Promise<Node>;
  symlink?(name: string, target: string): Promise<Node>;
  /** Removes child `name` (`dir`: rmdir). */
  unlink?(name: string, dir: boolean): Promise<void>;
  /** Moves child `oldName` to `newDir` as `newName`. */
  rename?(oldName: string, newDir: Node, newName: string): Promise<void>;
  // Files.
  open?(req: OpenRequest): Promise<OpenFile>;
  truncate?(size: number): Promise<void>;
  /** chmod: only the executable bit is kept, as git does. */
  chmod?(exec: boolean): Promise<void>;
  readlink?(): Promise<string>;
}

export const enc = new TextEncoder();
export const dec = new TextDecoder();

/**
 * The bytes of `data` from `offset`, at most `count`. datakit vfs.ml `check_offset`:
 * reading past the end is an error, "Offset %Ld beyond end-of-file (len = %Ld)".
 */
export function slice(data: Uint8Array, offset: number, count: number): Uint8Array {
  if (offset > data.length) throw new FsError('EINVAL', `Offset ${offset} beyond end-of-file (len = ${data.length})`);
  return data.subarray(offset, Math.min(data.length, offset + count));
}

/** Buffers `overwrite` made with room to grow: only these are extended in place. */
const growable = new WeakSet<ArrayBufferLike>();

/**
 * `data` with `piece` written at `offset` (zero-filled gap). A file that grows a second time
 * gets a buffer with room for twice its size, and later writes past its end extend the view
 * over that buffer: appending n bytes in pieces copies O(n) bytes, not O(n^2) (a 128 MiB file
 * written in 9P-sized pieces took 72 s). The room is counted in the budgets (heldBytes).
 */
export function overwrite(data: Uint8Array, offset: number, piece: Uint8Array): Uint8Array {
  const end = offset + piece.length;
  let out = data;
  if (end > data.length) {
    if (growable.has(data.buffer) && data.byteOffset + end <= data.buffer.byteLength) {
      out = new Uint8Array(data.buffer, data.byteOffset, end);
      // The room past the old end may hold a write that was refused (ENOSPC after this
      // call): the gap before `offset` must read as zeros.
      if (offset > data.length) out.fill(0, data.length, offset);
    } else {
      // A file's first growth takes exactly what it needs (most files are written once);
      // from its second, the buffer doubles, so appends stay linear.
      const grown = new Uint8Array(growable.has(data.buffer) ? Math.max(end, 2 * data.length) : end);
      grown.set(data);
      growable.add(grown.buffer);
      out = grown.subarray(0, end);
    }
  }
  out.set(piece, offset);
  return out;
}

/** The memory `data` holds: its whole buffer when `overwrite` made it with room to grow. */
export function heldBytes(data: Uint8Array): number {
  return growable.has(data.buffer) ? data.buffer.byteLength : data.length;
}

/** `data` cut or zero-extended to `size`. */
export function resize(data: Uint8Array, size: number): Uint8Array {
  if (size <= data.length) return data.slice(0, size);
  const out = new Uint8Array(size);
  out.set(data);
  return out;
}

/** A directory with a fixed list of children (built on each call). */
export class StaticDir implements Node {
  readonly kind = 'dir';
  constructor(
    readonly name: string,
    readonly key: string,
    private readonly children: () => readonly Node[] | Promise<readonly Node[]>,
  ) {}

  stat(): Promise<Stat> {
    return Promise.resolve({ size: 0, perm: 0o755 });
  }

  async lookup(name: string): Promise<Node> {
    const c = (await this.children()).find((n) => n.name === name);
    if (c === undefined) throw noEntry(name);
    return c;
  }

  async list(): Promise<readonly Node[]> {
    return this.children();
  }

  mkdir(): Promise<Node> {
    return Promise.reject(readOnlyDir());
  }
}

/** A read-only file whose contents are computed when it is opened (and for stat). */
export class StatusFile implements Node {
  readonly kind = 'file';
  constructor(
    readonly name: string,
    readonly key: string,
    private readonly contents: () => Promise<Uint8Array>,
    private readonly perm = 0o444,
    /** The size without the contents, where that is cheaper (a blob's header). */
    private readonly size?: () => Promise<number>,
  ) {}

  async stat(): Promise<Stat> {
    return { size: this.size === undefined ? (await this.contents()).length : await this.size(), perm: this.perm };
  }

  async open(req: OpenRequest): Promise<OpenFile> {
    if (req.write) throw readOnlyFile();
    const data = await this.contents();
    return {
      read: (offset, count) => Promise.resolve(slice(data, offset, count)),
      write: () => Promise.reject(readOnlyFile()),
    };
  }
}

/** A read-only file with fixed contents. */
export function constFile(name: string, key: string, data: Uint8Array | string): StatusFile {
  const bytes = typeof data === 'string' ? enc.encode(data) : data;
  return new StatusFile(name, key, () => Promise.resolve(bytes));
}

/** A read-write file held in memory (a transaction's `msg`, `parents`), bounded by `max` bytes. */
export class MemoryFile implements Node {
  readonly kind = 'file';
  private version = 0;
  constructor(
    readonly name: string,
    readonly key: string,
    public data: Uint8Array,
    private readonly max: number,
  ) {}

  stat(): Promise<Stat> {
    return Promise.resolve({ size: this.data.length, perm: 0o644, version: this.version });
  }

  get text(): string {
    return dec.decode(this.data);
  }

  set(data: Uint8Array): void {
    this.data = data;
    this.version++;
  }

  open(req: OpenRequest): Promise<OpenFile> {
    if (req.truncate && req.write) this.set(new Uint8Array(0));
    return Promise.resolve({
      read: (offset, count) => Promise.resolve(slice(this.data, offset, count)),
      write: (offset, piece) => {
        if (offset + piece.length > this.max) return Promise.reject(new FsError('EFBIG', `${this.name} is limited to ${this.max} bytes`));
        this.set(overwrite(this.data, offset, piece));
        return Promise.resolve(piece.length);
      },
    });
  }

  truncate(size: number): Promise<void> {
    if (size > this.max) return Promise.reject(new FsError('EFBIG', `${this.name} is limited to ${this.max} bytes`));
    this.set(resize(this.data, size));
    return Promise.resolve();
  }
}
