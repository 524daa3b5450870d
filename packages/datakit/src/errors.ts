/** Typed errors for @kitbox/datakit (CONVENTIONS.md #8): a stable `code` plus `data`. */
export class DatakitError extends Error {
  readonly code: string;
  readonly data: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, data: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.data = data;
  }
}
