/**
 * `linkgate serve`: runs the gateway until SIGTERM/SIGINT; SIGHUP reloads the configuration.
 * With `--workers N` (N > 1) a primary process runs N worker processes (src/runtime/cluster.ts);
 * the signals go to the primary, which answers them for all. Errors no code handled follow
 * src/runtime/process-errors.ts: a rejection is logged and counted, an exception drains and
 * exits 1.
 */
import { formatConfigErrors } from "../config/index.js";
import { ClusterPrimary } from "../runtime/cluster.js";
import { ConfigLoadError, LinkgateRuntime } from "../runtime/linkgate.js";
import { installProcessErrorPolicy } from "../runtime/process-errors.js";
import { type EngineName, runtimeEngineName, switchEngine } from "./engine.js";
import { CommandFailure, EXIT_INVALID, EXIT_USAGE, type Io } from "./output.js";

export interface ServeFlags {
  config: string;
  watch: boolean;
  /** Worker processes; 1 (the default) serves from this process alone, as it always did. */
  workers?: number;
  /** The data plane's engine; default the runtime's own (src/cli/engine.ts). */
  engine?: EngineName;
}

export async function serveCommand(flags: ServeFlags, io: Io, version: string): Promise<void> {
  // Returns only on the runtime of that engine already (on Bun, with its heap settings), or
  // when it cannot switch.
  const cannot = switchEngine(flags.engine ?? runtimeEngineName());
  if (cannot !== null) throw new CommandFailure(EXIT_USAGE, cannot);
  let runtime: LinkgateRuntime | ClusterPrimary | null = null;
  // Installed before the start, whose "listening" lines tell a supervisor it may signal: a
  // SIGHUP's default action would end the process. One that arrives while starting reloads
  // once started (an operator's SIGHUP reloads even a file that did not change).
  let hupWhileStarting = false;
  const onHup = () => {
    if (runtime === null) hupWhileStarting = true;
    else void runtime.reload({ source: "SIGHUP", force: true });
  };
  process.on("SIGHUP", onHup);
  const workers = flags.workers ?? 1;
  try {
    runtime =
      workers > 1
        ? await ClusterPrimary.start({
            configFile: flags.config,
            watchFile: flags.watch,
            workers,
            version,
          })
        : await LinkgateRuntime.start({
            configFile: flags.config,
            watchFile: flags.watch,
            version,
          });
  } catch (error) {
    process.off("SIGHUP", onHup);
    if (error instanceof ConfigLoadError) {
      io.stderr(formatConfigErrors(error.errors));
      io.stderr(`linkgate: not started: ${flags.config} is invalid (run linkgate check)\n`);
      throw new CommandFailure(EXIT_INVALID);
    }
    io.stderr(`linkgate: not started: ${(error as Error).message}\n`);
    throw new CommandFailure(EXIT_INVALID);
  }
  const running = runtime;
  if (hupWhileStarting) onHup();
  const exitCode = await new Promise<number>((resolve) => {
    let stopping = false;
    /** The one way out: drain, then exit with `exitCode` (1 if the runtime says so). */
    const stop = (reason: string, exitCode: number) => {
      stopping = true;
      // A cluster whose workers had to be killed at the end of the drain exits 1.
      const stopped: Promise<{ forcedConnections: number; exitCode?: number }> =
        running.stop(reason);
      stopped.then((result) => {
        process.off("SIGHUP", onHup);
        resolve(Math.max(exitCode, result.exitCode ?? 0));
      });
    };
    const onStop = (signal: NodeJS.Signals) => {
      if (stopping) {
        // A second signal during the drain: stop waiting.
        running.logger.warn({ signal }, "second signal: exiting without waiting for the drain");
        process.exit(1);
      }
      stop(signal, 0);
    };
    process.on("SIGTERM", onStop);
    process.on("SIGINT", onStop);
    installProcessErrorPolicy({
      logger: running.logger,
      metrics: running.metrics,
      drain: (reason) => {
        if (!stopping) stop(reason, 1);
      },
    });
  });
  if (exitCode !== 0) throw new CommandFailure(exitCode);
}
