/**
 * What `git fsck --strict` (2.39, fsck.c fsck_blob) refuses in a blob a tree names
 * `.gitattributes`: more than 100 MiB (`gitattributesLarge`, attr.h ATTR_MAX_FILE_SIZE), or a
 * line of 2048 bytes or more (`gitattributesLineLength`, ATTR_MAX_LINE_LENGTH). Lines end at
 * '\n' only (a CR counts in the line), and fsck reads the blob as a C string: nothing after
 * the first NUL byte is looked at.
 */
/** What is wrong with a `.gitattributes` blob, as fsck names it. */
export interface GitattributesProblem {
  readonly rule: 'gitattributesLarge' | 'gitattributesLineLength';
  /** What is wrong, ending in "(git fsck: <rule>)". */
  readonly message: string;
}

/** attr.h ATTR_MAX_FILE_SIZE. */
export const GITATTRIBUTES_MAX = 100 * 1024 * 1024;
/** attr.h ATTR_MAX_LINE_LENGTH. */
const LINE_MAX = 2048;

export function checkGitattributes(data: Uint8Array): GitattributesProblem | undefined {
  if (data.length > GITATTRIBUTES_MAX) {
    return { rule: 'gitattributesLarge', message: `${data.length} bytes, more than git reads (${GITATTRIBUTES_MAX}) (git fsck: gitattributesLarge)` };
  }
  const nul = data.indexOf(0);
  const end = nul < 0 ? data.length : nul;
  for (let at = 0, line = 1; at < end; line++) {
    let eol = data.indexOf(0x0a, at);
    if (eol < 0 || eol > end) eol = end;
    if (eol - at >= LINE_MAX) {
      return { rule: 'gitattributesLineLength', message: `line ${line} is ${eol - at} bytes long, git reads at most ${LINE_MAX - 1} (git fsck: gitattributesLineLength)` };
    }
    at = eol + 1;
  }
  return undefined;
}
