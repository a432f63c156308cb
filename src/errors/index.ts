import { ERROR_CATALOGUE, type ErrorCode } from "./catalogue.js";

export { ERROR_CATALOGUE, type ErrorCode, isErrorCode } from "./catalogue.js";

/**
 * A failure reported by a parser. Parsers return it instead of throwing: building an `Error`
 * captures a stack trace, which costs microseconds on a path that must drop floods of bad
 * connections cheaply. `offset` is the byte offset, from the start of the input, where the
 * problem was found.
 */
export class ParseError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly offset: number;

  constructor(code: ErrorCode, message: string, offset: number) {
    this.code = code;
    this.message = message;
    this.offset = offset;
  }

  /** Turns the failure into a throwable `LinkgateError`. */
  toError(): LinkgateError {
    return new LinkgateError(this.code, `${this.message} (at byte ${this.offset})`);
  }

  toJSON(): { code: ErrorCode; message: string; offset: number } {
    return { code: this.code, message: this.message, offset: this.offset };
  }
}

/** The error thrown by linkgate's APIs and commands, with a stable code from the catalogue. */
export class LinkgateError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string = ERROR_CATALOGUE[code], options?: ErrorOptions) {
    super(message, options);
    this.name = "LinkgateError";
    this.code = code;
  }
}
