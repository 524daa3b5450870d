/**
 * Command files (`ctl`, `fast-forward`): datakit vfs.ml `File.command`.
 *
 *   "let write buf = handler @@ String.trim (Cstruct.to_string buf) >>*= fun result ->
 *      data := Cstruct.of_string result"
 *   "let truncate = function 0L -> ok () (* For `echo cmd > file` *)
 *      | _ -> err_extend_cmd_file"
 *
 * Each write is one command (its text trimmed). The result is kept per open fid, not
 * per file as datakit does, so two clients never read each other's answers. Because
 * 9P2000.L errors carry only an errno, a failed command also leaves datakit's error
 * text there: `echo commit >&3; cat <&3` on one fid shows `Merge conflict: ...`.
 */
import { extendCommand, FsError, readOnlyFile } from './errors.js';
import type { Node, OpenFile, OpenRequest, Stat } from './node.js';
import { dec, enc, slice } from './node.js';

/** A command longer than this is refused (no datakit command comes close). */
export const MAX_COMMAND = 4096;

export type CommandHandler = (command: string) => Promise<string>;

export class CommandFile implements Node {
  readonly kind = 'file';
  constructor(
    readonly name: string,
    readonly key: string,
    private readonly handler: CommandHandler,
  ) {}

  stat(): Promise<Stat> {
    return Promise.resolve({ size: 0, perm: 0o644 });
  }

  open(_req: OpenRequest): Promise<OpenFile> {
    let result: Uint8Array = new Uint8Array(0);
    let busy = false;
    return Promise.resolve({
      // Lenient, unlike other files: the answer may be shorter than what was written.
      read: (offset, count) => Promise.resolve(offset >= result.length ? new Uint8Array(0) : slice(result, offset, count)),
      write: async (_offset, data) => {
        if (data.length > MAX_COMMAND) {
          result = enc.encode(`Command too long (${data.length} bytes; at most ${MAX_COMMAND})\n`);
          throw new FsError('EFBIG', `Command too long (${data.length} bytes; at most ${MAX_COMMAND})`);
        }
        if (busy) throw new FsError('EBUSY', 'A command is already running on this fid');
        busy = true;
        try {
          const r = await this.handler(dec.decode(data).trim());
          result = enc.encode(r);
          return data.length;
        } catch (err) {
          const msg = err instanceof Error ? err.message : String(err);
          result = enc.encode(`${msg}\n`);
          throw err;
        } finally {
          busy = false;
        }
      },
    });
  }

  truncate(size: number): Promise<void> {
    return size === 0 ? Promise.resolve() : Promise.reject(extendCommand());
  }

  chmod(): Promise<void> {
    return Promise.reject(readOnlyFile());
  }
}
