/** Runs the `linkgate` command in-process, capturing what it prints. */
import { main } from "../../src/cli/main.js";
import type { Io } from "../../src/cli/output.js";

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

export async function runCli(args: string[], stdin: Buffer = Buffer.alloc(0)): Promise<CliResult> {
  let out = "";
  let err = "";
  const io: Io = {
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      err += t;
    },
    readStdin: async () => stdin,
  };
  const code = await main(args, io);
  return { code, out, err };
}
