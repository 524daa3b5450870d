/**
 * What `git fsck --strict` (git 2.39) says about a blob a tree names `.gitmodules`.
 *
 * fsck.c `fsck_blob`, `fsck_gitmodules_fn`; config.c `git_parse_source`; fsck.h severities:
 *
 *   GITMODULES_LARGE   ERROR  ".gitmodules too large to parse" (blob streamed, not read:
 *                              over core.bigFileThreshold, 512 MiB by default)
 *   GITMODULES_NAME    ERROR  "disallowed submodule name: %s"     check_submodule_name
 *   GITMODULES_URL     ERROR  "disallowed submodule url: %s"      check_submodule_url
 *   GITMODULES_PATH    ERROR  "disallowed submodule path: %s"     looks_like_command_line_option
 *   GITMODULES_UPDATE  ERROR  "disallowed submodule update setting: %s"  "!command"
 *   GITMODULES_PARSE   INFO   "could not parse gitmodules blob"   (a warning: --strict only
 *                              raises WARN to ERROR, so fsck --strict still passes)
 *
 * fsck parses the blob with git's config parser and stops at the first line it cannot
 * parse: what came before is checked, what follows is not. This module does the same,
 * byte for byte, including two quirks of `config_buf_fgetc` returning a plain `char`: where
 * char is signed (x86-64) a 0xff byte reads as EOF and a UTF-8 BOM is not skipped; where
 * it is unsigned (arm64) neither happens. A blob is checked both ways and refused if either
 * git would refuse it. Work and memory are linear in the blob's size.
 */

/** The fsck message ids (camelCase, as `git fsck` prints them) this module can answer. */
export type GitmodulesRule = 'gitmodulesLarge' | 'gitmodulesName' | 'gitmodulesUrl' | 'gitmodulesPath' | 'gitmodulesUpdate';

export interface GitmodulesProblem {
  readonly rule: GitmodulesRule;
  /** What is wrong, ending in "(git fsck: <rule>)". */
  readonly message: string;
}

/** core.bigFileThreshold's default: fsck and index-pack stream larger blobs and report gitmodulesLarge. */
export const GITMODULES_MAX = 512 * 1024 * 1024;

const EOF = -1;
const LF = 0x0a;
const CR = 0x0d;

/** git's sane_ctype (ctype.c): ASCII only, and a negative `char` indexes as its byte. */
const isSpace = (c: number): boolean => {
  const b = c & 0xff;
  return b === 0x20 || b === 0x09 || b === LF || b === CR;
};
const isAlpha = (c: number): boolean => {
  const b = c & 0xff;
  return (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
};
const isKeyChar = (c: number): boolean => {
  const b = c & 0xff;
  return isAlpha(b) || (b >= 0x30 && b <= 0x39) || b === 0x2d;
};
const toLower = (c: number): number => (isAlpha(c) ? (c & 0xff) | 0x20 : c & 0xff);

/** A strbuf of bytes: grows by doubling, so never more than twice what it holds. */
class Bytes {
  buf = new Uint8Array(64);
  len = 0;
  add(c: number): void {
    if (this.len === this.buf.length) {
      const b = new Uint8Array(this.buf.length * 2);
      b.set(this.buf);
      this.buf = b;
    }
    // In bounds: grown above when full.
    this.buf[this.len++] = c & 0xff;
  }
  /** As C sees it: up to the first NUL, one char per byte (latin1). */
  cString(from = 0): string {
    const end = this.buf.subarray(from, this.len).indexOf(0);
    return latin1(this.buf.subarray(from, end < 0 ? this.len : from + end));
  }
}

function latin1(b: Uint8Array): string {
  if (b.length <= 64) {
    let s = '';
    // In bounds: i < b.length.
    for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
    return s;
  }
  const parts: string[] = [];
  for (let i = 0; i < b.length; i += 8192) parts.push(String.fromCharCode(...b.subarray(i, i + 8192)));
  return parts.join('');
}

/** config.c's config_source over a buffer, with `get_next_char`'s CRLF and EOF handling. */
class Source {
  pos = 0;
  eof = false;
  constructor(
    private readonly data: Uint8Array,
    private readonly signedChar: boolean,
  ) {}

  /** config_buf_fgetc: `return buf[pos++]` through a `char`; 0xff is EOF (-1) when signed. */
  private fgetc(): number {
    if (this.pos >= this.data.length) return EOF;
    // In bounds: checked just above.
    const b = this.data[this.pos++]!;
    return this.signedChar && b >= 0x80 ? b - 256 : b;
  }

  next(): number {
    let c = this.fgetc();
    if (c === CR) {
      c = this.fgetc();
      if (c !== LF) {
        // config_buf_ungetc; an EOF (or a signed 0xff) is not put back.
        if (c !== EOF) this.pos--;
        c = CR;
      }
    }
    if (c === EOF) {
      this.eof = true;
      c = LF;
    }
    return c;
  }
}

/**
 * git_parse_source with fsck's callback: the first problem an entry has, or undefined when
 * the blob parses to its end or up to a line git cannot parse (gitmodulesParse, a warning).
 */
function parseConfig(
  data: Uint8Array,
  signedChar: boolean,
  onSection: (base: Bytes) => void,
  onEntry: (key: Bytes, value: Bytes | undefined) => GitmodulesProblem | undefined,
): GitmodulesProblem | undefined {
  const src = new Source(data, signedChar);
  const BOM = [0xef, 0xbb, 0xbf];
  let bom = 0;
  let comment = false;
  let base = new Bytes();
  const key = new Bytes();
  const value = new Bytes();
  for (;;) {
    const c = src.next();
    if (bom >= 0 && bom < BOM.length) {
      // A signed char never equals 0xef: such a git does not skip the BOM.
      if (c === BOM[bom]) {
        bom++;
        continue;
      }
      if (bom !== 0) return undefined;
      bom = -1;
    }
    if (c === LF) {
      if (src.eof) return undefined;
      comment = false;
      continue;
    }
    if (comment) continue;
    if (isSpace(c)) continue;
    if (c === 0x23 || c === 0x3b) {
      comment = true;
      continue;
    }
    if (c === 0x5b) {
      base = new Bytes();
      if (!baseVar(src, base) || base.len < 1) return undefined;
      onSection(base);
      continue;
    }
    if (!isAlpha(c)) return undefined;
    key.len = 0;
    key.add(toLower(c));
    const r = getValue(src, key, value);
    if (r === 'error') return undefined;
    const problem = onEntry(key, r === 'bool' ? undefined : value);
    if (problem !== undefined) return problem;
  }
}

/** get_value: the rest of the key, then nothing (a boolean) or '=' and a value. */
function getValue(src: Source, key: Bytes, value: Bytes): 'bool' | 'value' | 'error' {
  let c: number;
  for (;;) {
    c = src.next();
    if (src.eof) break;
    if (!isKeyChar(c)) break;
    key.add(toLower(c));
  }
  while (c === 0x20 || c === 0x09) c = src.next();
  if (c === LF) return 'bool';
  if (c !== 0x3d) return 'error';
  return parseValue(src, value) ? 'value' : 'error';
}

/** parse_value: quotes, `\` escapes (t b n \ " and newline), comments, inner spaces kept as one each. */
function parseValue(src: Source, value: Bytes): boolean {
  let quote = false;
  let comment = false;
  let space = 0;
  value.len = 0;
  for (;;) {
    let c = src.next();
    if (c === LF) return !quote;
    if (comment) continue;
    if (isSpace(c) && !quote) {
      if (value.len > 0) space++;
      continue;
    }
    if (!quote && (c === 0x3b || c === 0x23)) {
      comment = true;
      continue;
    }
    for (; space > 0; space--) value.add(0x20);
    if (c === 0x5c) {
      c = src.next();
      if (c === LF) continue;
      if (c === 0x74) c = 0x09;
      else if (c === 0x62) c = 0x08;
      else if (c === 0x6e) c = LF;
      else if (c !== 0x5c && c !== 0x22) return false;
      value.add(c);
      continue;
    }
    if (c === 0x22) {
      quote = !quote;
      continue;
    }
    value.add(c);
  }
}

/** get_base_var: `[section]`, `[section.old.style]` (lowercased), or on to `[section "sub"]`. */
function baseVar(src: Source, name: Bytes): boolean {
  for (;;) {
    const c = src.next();
    if (src.eof) return false;
    if (c === 0x5d) return true;
    if (isSpace(c)) return extendedBaseVar(src, name, c);
    if (!isKeyChar(c) && c !== 0x2e) return false;
    name.add(toLower(c));
  }
}

/** get_extended_base_var: `"sub"` with `\x` standing for x, then `]` at once. */
function extendedBaseVar(src: Source, name: Bytes, first: number): boolean {
  let c = first;
  do {
    if (c === LF) return false;
    c = src.next();
  } while (isSpace(c));
  if (c !== 0x22) return false;
  name.add(0x2e);
  for (;;) {
    c = src.next();
    if (c === LF) return false;
    if (c === 0x22) break;
    if (c === 0x5c) {
      c = src.next();
      if (c === LF) return false;
    }
    name.add(c);
  }
  return src.next() === 0x5d;
}

const SUBMODULE = 'submodule';

/** submodule-config.c check_submodule_name: not empty, no ".." component ('/' or '\' separated). */
function badName(name: string): boolean {
  if (name === '') return true;
  return name.split(/[/\\]/).includes('..');
}

const dashed = (s: string): boolean => s.startsWith('-');

/** path_match_flags(..., STARTS_WITH_DOT[_DOT]_SLASH | XPLATFORM). */
const dotSlash = (s: string): boolean => s[0] === '.' && (s[1] === '/' || s[1] === '\\');
const dotDotSlash = (s: string): boolean => s[0] === '.' && s[1] === '.' && (s[2] === '/' || s[2] === '\\');

/**
 * Whether url.c url_decode_mem(s) holds a newline: what precedes the first ':' is kept as
 * is, "%XX" (not %00) is decoded after it. Decoding goes left to right, and the '%' of a
 * "%0a" is never the tail of an earlier "%XY" (X and Y are hex digits), so a literal
 * newline or a "%0a" past that colon is one.
 */
function decodesToNewline(s: string): boolean {
  if (s.includes('\n')) return true;
  const from = Math.max(s.indexOf(':'), 0);
  return /%0a/i.test(from === 0 ? s : s.slice(from));
}

/**
 * credential.c credential_from_url_gently (a full URL: "proto://[user[:pass]@]host/path"):
 * whether it parses with a host and no newline in any part, once decoded.
 */
function curlUrlOk(url: string): boolean {
  const protoEnd = url.indexOf('://');
  if (protoEnd <= 0) return false;
  const cp = protoEnd + 3;
  const at = url.indexOf('@', cp);
  const colon = url.indexOf(':', cp);
  let slash = cp;
  while (slash < url.length && !'/?#'.includes(url[slash]!)) slash++;
  // The protocol is kept as is; user, password, host and path are url-decoded.
  if (url.slice(0, protoEnd).includes('\n')) return false;
  let host = cp;
  if (at >= 0 && at < slash) {
    if (colon < 0 || at <= colon) {
      if (decodesToNewline(url.slice(cp, at))) return false;
    } else if (decodesToNewline(url.slice(cp, colon)) || decodesToNewline(url.slice(colon + 1, at))) return false;
    host = at + 1;
  }
  // url_decode_mem never shortens "" to less, and decodes nothing to "": empty iff empty.
  if (slash === host || decodesToNewline(url.slice(host, slash))) return false;
  let p = slash;
  while (url[p] === '/') p++;
  return !decodesToNewline(url.slice(p));
}

/** fsck.c check_submodule_url: why `url` is refused, or undefined. */
function urlProblem(url: string): string | undefined {
  if (dashed(url)) return 'looks like a command-line option';
  if (dotSlash(url) || dotDotSlash(url) || url.startsWith('git://')) {
    // It could be appended to an http URL and url-decoded.
    if (decodesToNewline(url)) return 'has a newline once url-decoded';
    let dotdots = 0;
    let i = 0;
    for (;;) {
      if (url[i] === '.' && url[i + 1] === '.' && (url[i + 2] === '/' || url[i + 2] === '\\')) {
        dotdots++;
        i += 3;
      } else if (url[i] === '.' && (url[i + 1] === '/' || url[i + 1] === '\\')) i += 2;
      else break;
    }
    // "../" past the root can reach the host part (CVE-2020-11008).
    if (dotdots > 0 && (url[i] === ':' || url[i] === '/')) return 'climbs out of its base with "../" into a host or scheme';
    return undefined;
  }
  let curl: string | undefined;
  for (const p of ['http::', 'https::', 'ftp::', 'ftps::']) if (url.startsWith(p)) curl = url.slice(p.length);
  if (curl === undefined && ['http://', 'https://', 'ftp://', 'ftps://'].some((p) => url.startsWith(p))) curl = url;
  if (curl !== undefined && !curlUrlOk(curl)) return 'is not an http/ftp URL with a host and no newline in any part';
  return undefined;
}

/** For messages: the text as UTF-8 where it is, shortened, quoted. */
function show(s: string): string {
  const bytes = Uint8Array.from(s.slice(0, 200), (ch) => ch.charCodeAt(0));
  const text = new TextDecoder().decode(bytes);
  return JSON.stringify(s.length > 200 ? `${text}...` : text);
}

const problem = (rule: GitmodulesRule, what: string): GitmodulesProblem => ({ rule, message: `${what} (git fsck: ${rule})` });

/** The section an entry is in, as parse_config_key splits `var` for "submodule". */
interface Section {
  /** The subsection (the submodule's name), or undefined: not `[submodule "..."]`, no check. */
  name: string | undefined;
  /** The key when a NUL in the header cut `var` short (C strings), else the entry's own. */
  fixedKey: string | undefined;
}

function sectionOf(base: Bytes): Section {
  const nul = base.buf.subarray(0, base.len).indexOf(0);
  // var is base + "." + key; the key has no '.', so the last dot is the one after base.
  const v = nul < 0 ? `${base.cString()}.` : base.cString();
  if (!v.startsWith(SUBMODULE) || v[SUBMODULE.length] !== '.') return { name: undefined, fixedKey: undefined };
  const rest = v.slice(SUBMODULE.length);
  const dot = rest.lastIndexOf('.');
  if (dot === 0) return { name: undefined, fixedKey: undefined };
  return { name: rest.slice(1, dot), fixedKey: nul < 0 ? undefined : rest.slice(dot + 1) };
}

function check(data: Uint8Array, signedChar: boolean): GitmodulesProblem | undefined {
  let section: Section = { name: undefined, fixedKey: undefined };
  let nameBad = false;
  return parseConfig(
    data,
    signedChar,
    (base) => {
      section = sectionOf(base);
      nameBad = section.name !== undefined && badName(section.name);
    },
    (keyBytes, valueBytes) => {
      const name = section.name;
      if (name === undefined) return undefined;
      const label = (): string => `submodule ${show(name)}`;
      if (nameBad) return problem('gitmodulesName', `${label()}: the name is empty or has a ".." path component`);
      // Keys are short: no string is made for any other than these three.
      const key = section.fixedKey ?? (keyBytes.len <= 6 ? keyBytes.cString() : '');
      if (valueBytes === undefined || (key !== 'url' && key !== 'path' && key !== 'update')) return undefined;
      const value = valueBytes.cString();
      if (key === 'url') {
        const why = urlProblem(value);
        if (why !== undefined) return problem('gitmodulesUrl', `${label()}: url ${show(value)} ${why}`);
      } else if (key === 'path') {
        if (dashed(value)) return problem('gitmodulesPath', `${label()}: path ${show(value)} looks like a command-line option`);
      } else if (value.startsWith('!')) {
        return problem('gitmodulesUpdate', `${label()}: update ${show(value)} would run a command`);
      }
      return undefined;
    },
  );
}

/**
 * Why `git fsck --strict` would refuse `data` as a `.gitmodules` blob, or undefined if it
 * would not (`maxBytes`: git's core.bigFileThreshold). A blob git cannot parse as config is
 * accepted from the first bad line on, as fsck does (gitmodulesParse is a warning).
 *
 * @example
 *   checkGitmodules(new TextEncoder().encode('[submodule "x"]\n\turl = --upload-pack=evil\n'))
 *   // { rule: 'gitmodulesUrl', message: 'submodule "x": url "--upload-pack=evil" looks like ...' }
 */
export function checkGitmodules(data: Uint8Array, maxBytes = GITMODULES_MAX): GitmodulesProblem | undefined {
  if (data.length > maxBytes) return problem('gitmodulesLarge', `${data.length} bytes, more than git fsck reads (core.bigFileThreshold)`);
  const signed = check(data, true);
  if (signed !== undefined) return signed;
  // The two readings differ only on 0xff bytes and a leading BOM.
  if (data.includes(0xff) || (data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf)) return check(data, false);
  return undefined;
}
