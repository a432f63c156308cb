/** How commands print results and errors, and which exit code they use. */
import { type ErrorCode, LinkgateError, ParseError } from "../errors/index.js";

/** Exit codes: 0 success, 1 invalid input or a failed check, 2 usage error. */
export const EXIT_OK = 0;
export const EXIT_INVALID = 1;
export const EXIT_USAGE = 2;

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readStdin: () => Promise<Buffer>;
}

export const processIo: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  },
};

export function printJson(io: Io, value: unknown, compact: boolean): void {
  io.stdout(`${compact ? JSON.stringify(value) : JSON.stringify(value, null, 2)}\n`);
}

/** The error document printed on stdout for invalid input: {"error":{"code","message"}}. */
export function errorDocument(error: { code: ErrorCode; message: string; offset?: number }): {
  error: { code: ErrorCode; message: string; offset?: number };
} {
  const e: { code: ErrorCode; message: string; offset?: number } = {
    code: error.code,
    message: error.message,
  };
  if (error instanceof ParseError) e.offset = error.offset;
  return { error: e };
}

/** Thrown by command handlers to stop with a code; caught by main. */
export class CommandFailure extends Error {
  readonly exitCode: number;
  constructor(exitCode: number, message = "") {
    super(message);
    this.exitCode = exitCode;
  }
}

export function usageError(message: string): CommandFailure {
  return new CommandFailure(EXIT_USAGE, message);
}

export function asLinkgateError(error: unknown): LinkgateError | null {
  return error instanceof LinkgateError ? error : null;
}
