/** The `linkgate` command. */
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { CommandFailure, EXIT_OK, EXIT_USAGE, type Io, processIo } from "./output.js";
import { decodeCommand, encodeCommand } from "./pp2.js";

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  return pkg.version as string;
}

function integer(min: number, max: number) {
  return (value: string): number => {
    if (!/^[0-9]+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`);
    }
    return Number(value);
  };
}

export function buildProgram(io: Io): Command {
  const program = new Command("linkgate")
    .description(
      "Private Link gateway: enforce per-tenant allow-lists of cloud private endpoints from the PROXY protocol v2 header and the TLS SNI",
    )
    .version(packageVersion(), "-V, --version", "print the version")
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();

  program
    .command("serve")
    .description("run the gateway (listeners, control-plane API, metrics)")
    .option("-c, --config <file>", "configuration file (YAML or JSON)")
    .action(() => {
      io.stdout(
        "linkgate: the gateway is coming next (see the issues); today this package ships the PROXY protocol library and `linkgate pp2`.\n",
      );
    });

  const pp2 = program
    .command("pp2")
    .description("decode and build PROXY protocol headers")
    .exitOverride();

  pp2
    .command("decode")
    .description("decode a PROXY v1/v2 header given in hex, or as raw bytes on stdin with -")
    .argument(
      "<hex|->",
      "the header in hex (spaces and colons ignored), or - to read raw bytes from stdin",
    )
    .option("--compact", "print one line of JSON")
    .addOption(
      new Option("--max-header-size <bytes>", "cap on a v2 header")
        .argParser(integer(16, 65551))
        .default(4096),
    )
    .action(async (input: string, flags) => {
      await decodeCommand(input, flags, io);
    })
    .exitOverride();

  pp2
    .command("encode")
    .description("build a PROXY header; prints hex (or raw bytes with --raw)")
    .option("--source <ip:port>", "client address, IPv4:PORT or [IPv6]:PORT")
    .option("--destination <ip:port>", "address the client connected to")
    .option("--aws-vpce <id>", "AWS VPC endpoint ID (vpce-...) in TLV 0xEA")
    .option("--azure-link <n>", "Azure Private Endpoint LINKID (uint32) in TLV 0xEE")
    .option("--gcp-psc <n>", "GCP PSC connection ID (uint64) in TLV 0xE0")
    .option("--link <identity>", "identity written aws:vpce-..., azure:N or gcp:N")
    .option("--authority <host>", "AUTHORITY TLV (host name)")
    .option("--alpn <protocol>", "ALPN TLV")
    .option("--unique-id <text>", "UNIQUE_ID TLV")
    .option("--crc32c", "add a CRC32C TLV")
    .option("--pad-to <bytes>", "pad with NOOP to at least this length", integer(16, 65551))
    .option("--local", "LOCAL command (as health checks send)")
    .option("--udp", "UDP instead of TCP")
    .option("--v1", "build a v1 text line")
    .option("--raw", "print raw bytes instead of hex")
    .action((flags) => {
      encodeCommand(flags, io);
    })
    .exitOverride();

  return program;
}

/** Runs the command line; returns the exit code. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: "user" });
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CommandFailure) {
      if (error.message !== "") io.stderr(`linkgate: ${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof CommanderError) {
      // --help and --version exit 0; every other commander error is a usage error.
      if (error.exitCode === 0) return EXIT_OK;
      return EXIT_USAGE;
    }
    throw error;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
