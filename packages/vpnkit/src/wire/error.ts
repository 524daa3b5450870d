/**
 * The single error type of the wire layer.
 *
 * Every parse path in `src/wire/` treats its input as hostile: a malformed
 * buffer makes it throw a `WireError` with a stable `code` and never any
 * other exception (no RangeError from a DataView, no TypeError from an
 * undefined index).  Callers switch on `code`; `message` is for humans.
 */

/** Stable machine-readable reasons.  Never renamed once released. */
export type WireErrorCode =
  /** The buffer ends before the header, an option or a declared length does. */
  | 'TRUNCATED'
  /** IP version nibble does not match the header being parsed. */
  | 'BAD_VERSION'
  /** A header-length field (IHL, TCP data offset) is below the minimum. */
  | 'BAD_HEADER_LEN'
  /** A length field is inconsistent (e.g. IPv4 total length < header length). */
  | 'BAD_LENGTH'
  /** A checksum does not verify (thrown by `Repr.parse`, never by `checked`). */
  | 'BAD_CHECKSUM'
  /** An option (TCP, IPv4, NDP, DHCP) has a malformed kind/length. */
  | 'BAD_OPTION'
  /** A textual address could not be parsed, or a byte address has a wrong length. */
  | 'BAD_ADDRESS'
  /** A DHCP magic cookie mismatch. */
  | 'BAD_MAGIC'
  /** Well-formed but outside what this layer implements (e.g. QinQ, non-Ethernet ARP). */
  | 'UNSUPPORTED'
  /** Structurally invalid in a way not covered by a more specific code. */
  | 'MALFORMED'
  /** The IPv6 extension-header chain is longer than the walker's bound. */
  | 'TOO_MANY_HEADERS'
  /** `emit` was handed a buffer shorter than `bufferLen(repr)`. */
  | 'BUFFER_TOO_SMALL'
  /** `emit` was handed a repr whose values do not fit the wire format. */
  | 'INVALID_REPR';

export class WireError extends Error {
  override readonly name = 'WireError';

  constructor(
    readonly code: WireErrorCode,
    /** Which protocol raised it, e.g. 'ipv4', 'tcp'. */
    readonly protocol: string,
    detail?: string,
  ) {
    super(detail === undefined ? `${protocol}: ${code}` : `${protocol}: ${code}: ${detail}`);
  }
}

/** True when `e` is a `WireError` (optionally with the given code). */
export function isWireError(e: unknown, code?: WireErrorCode): e is WireError {
  return e instanceof WireError && (code === undefined || e.code === code);
}
