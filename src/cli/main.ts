/** The `linkgate` command. */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { pathToFileURL } from "node:url";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { checkCommand } from "./check.js";
import { azCommand } from "./doctor-az.js";
import { dnsCommand } from "./doctor-dns.js";
import { ENGINES, type EngineName, runtimeEngineName } from "./engine.js";
import { explainCommand } from "./explain.js";
import { CommandFailure, EXIT_OK, EXIT_USAGE, type Io, processIo } from "./output.js";
import { decodeCommand, encodeCommand } from "./pp2.js";
import { serveCommand } from "./serve.js";
import { simulateCommand } from "./simulate.js";

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

/** `--workers`: an integer from 1 to 1024, or "auto" (the CPUs this process may use). */
function workerCount(value: string): number {
  if (value === "auto") return availableParallelism();
  return integer(1, 1024)(value);
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
    .description(
      "run the gateway: listeners, metrics and health endpoints; SIGHUP reloads, SIGTERM drains",
    )
    .option("-c, --config <file>", "configuration file (YAML or JSON)", "linkgate.yaml")
    .option("--no-watch", "do not reload when the file changes (SIGHUP still does)")
    .option(
      "--workers <n|auto>",
      "worker processes sharing the listeners (auto: one per CPU); 1 serves from one process",
      workerCount,
      1,
    )
    .addOption(
      new Option(
        "--engine <engine>",
        "the data plane's sockets: node (node:net) or bun (Bun's own; re-runs the command under Bun)",
      )
        .choices(ENGINES)
        .default(runtimeEngineName()),
    )
    .action(
      async (flags: { config: string; watch: boolean; workers: number; engine: EngineName }) => {
        await serveCommand(flags, io, packageVersion());
      },
    );

  program
    .command("explain")
    .description("print, as JSON, the decision for a connection, without touching the network")
    .requiredOption("-c, --config <file>", "configuration file (YAML or JSON)")
    .requiredOption("--host <name>", "the host name the client asks for (the SNI)")
    .option("--link <identity>", "the Private Link identity: aws:vpce-…, azure:N or gcp:N")
    .option("--source <ip>", "the client address (from the PROXY header, or the TCP peer)")
    .option("--listener <name>", "the listener the connection arrives on")
    .option("--compact", "print one line of JSON")
    .action(async (flags) => {
      await explainCommand(flags, io);
    });

  program
    .command("check")
    .description(
      "validate a configuration file; prints every error with its file, line, column and key",
    )
    .requiredOption("-c, --config <file>", "configuration file (YAML or JSON)")
    .option("--json", "print {ok, file, errors[]} as JSON on stdout instead")
    .action(async (flags: { config: string; json?: boolean }) => {
      await checkCommand(flags, io);
    })
    .exitOverride();

  program
    .command("simulate")
    .description(
      "connect like a cloud load balancer (PROXY v2 with an identity, then TLS with an SNI) and report accepted or dropped; exit 0 accepted, 1 dropped",
    )
    .requiredOption("--to <ip:port>", "the linkgate listener to connect to")
    .requiredOption("--host <name>", "the SNI")
    .option("--aws-vpce <id>", "AWS VPC endpoint ID (vpce-...)")
    .option("--azure-link <n>", "Azure Private Endpoint LINKID")
    .option("--gcp-psc <n>", "GCP PSC connection ID")
    .option("--link <identity>", "identity written aws:vpce-..., azure:N or gcp:N")
    .option("--source <ip:port>", "client address in the PROXY header", "198.51.100.10:50000")
    .option("--destination <ip:port>", "destination in the PROXY header (default: --to)")
    .option("--no-proxy", "send no PROXY header (a public listener)")
    .option("--timeout <ms>", "give up after this many milliseconds", integer(1, 600_000), 5000)
    .option(
      "--hold <ms>",
      "once accepted, keep the session open this long and report whether it was cut",
      integer(1, 3_600_000),
    )
    .option("--compact", "print one line of JSON")
    .action(async (flags) => {
      await simulateCommand(flags, io);
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

  const doctor = program
    .command("doctor")
    .description("check a cloud setup for the known Private Link pitfalls (docs/clouds/)")
    .exitOverride();

  doctor
    .command("az")
    .description(
      "AWS: do the provider's and the consumer's accounts share an Availability Zone (by AZ ID)? exit 0 yes, 1 no, 2 bad input",
    )
    .requiredOption(
      "--provider <file|->",
      "the service provider's `aws ec2 describe-availability-zones` (or `describe-subnets`) JSON; - reads stdin",
    )
    .requiredOption("--consumer <file|->", "the consumer's, likewise")
    .option("--json", "print the comparison as JSON")
    .addHelpText(
      "after",
      "\nOn each side: aws ec2 describe-availability-zones --region REGION --output json > FILE\n" +
        "Zone names (us-east-1a) are shuffled per account; AZ IDs (use1-az1) are not. See docs/clouds/aws.md.\n",
    )
    .action(async (flags: { provider: string; consumer: string; json?: boolean }) => {
      await azCommand(flags, io);
    })
    .exitOverride();

  doctor
    .command("dns")
    .description(
      "resolve host names and warn when a private-link name resolves to a public address (a missing private DNS record); exit 0 fine, 1 a warning, 2 usage",
    )
    .argument("<host...>", "the host names clients use, e.g. megacorp.privatelink.example.com")
    .option(
      "--private-domain <suffix>",
      "names under this domain must resolve to private addresses (repeatable)",
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option(
      "-c, --config <file>",
      "linkgate configuration: names matching a host pattern with a `privatelink` label are private-link names, and every name must map to a tenant",
    )
    .option("--resolver <ip[:port]>", "ask this DNS server instead of the system's")
    .option(
      "--timeout <ms>",
      "give up on a query after this many milliseconds",
      integer(1, 60_000),
      5000,
    )
    .option("--json", "print the results as JSON")
    .addHelpText(
      "after",
      "\nRun it where the clients are (in the customer's VPC or VNet): private DNS answers differ by network.\nSee docs/clouds/dns.md.\n",
    )
    .action(async (hosts: string[], flags) => {
      await dnsCommand(hosts, flags, io);
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
