/** `linkgate serve`: runs the gateway until SIGTERM/SIGINT; SIGHUP reloads the configuration. */
import { formatConfigErrors } from "../config/index.js";
import { ConfigLoadError, LinkgateRuntime } from "../runtime/linkgate.js";
import { CommandFailure, EXIT_INVALID, type Io } from "./output.js";

export interface ServeFlags {
  config: string;
  watch: boolean;
}

export async function serveCommand(flags: ServeFlags, io: Io, version: string): Promise<void> {
  let runtime: LinkgateRuntime;
  try {
    runtime = await LinkgateRuntime.start({
      configFile: flags.config,
      watchFile: flags.watch,
      version,
    });
  } catch (error) {
    if (error instanceof ConfigLoadError) {
      io.stderr(formatConfigErrors(error.errors));
      io.stderr(`linkgate: not started: ${flags.config} is invalid (run linkgate check)\n`);
      throw new CommandFailure(EXIT_INVALID);
    }
    io.stderr(`linkgate: not started: ${(error as Error).message}\n`);
    throw new CommandFailure(EXIT_INVALID);
  }
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onHup = () => void runtime.reload("SIGHUP");
    const onStop = (signal: NodeJS.Signals) => {
      if (stopping) {
        // A second signal during the drain: stop waiting.
        runtime.logger.warn({ signal }, "second signal: exiting without waiting for the drain");
        process.exit(1);
      }
      stopping = true;
      runtime.stop(signal).then(() => {
        process.off("SIGHUP", onHup);
        resolve();
      });
    };
    process.on("SIGHUP", onHup);
    process.on("SIGTERM", onStop);
    process.on("SIGINT", onStop);
  });
}
