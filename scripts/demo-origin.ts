/**
 * The demo upstream for `npm start`: the seed's email-sending API ("POST /v1/send"), as a
 * backend behind linkgate should be. It runs behind `linkgate/backend`: it accepts connections
 * from linkgate only, reads the fresh PROXY v2 header linkgate sends (tenant, endpoint, client),
 * and answers 421 to a request for another tenant's host name (docs/security.md: the backend's
 * part of the contract). For demonstrations only.
 *
 *   npm run demo:origin            (127.0.0.1:9443, the demo configuration's upstream)
 */
import { readFileSync } from "node:fs";
import https from "node:https";
import { fileURLToPath } from "node:url";
import { behindLinkgate, linkgateInfo } from "../src/backend/index.js";

const dir = new URL("../examples/demo-origin/", import.meta.url);

export interface DemoOrigin {
  close(): Promise<void>;
}

/** Starts the email API on host:port, for linkgate at `linkgate` (CIDRs) with these patterns. */
export function startDemoOrigin(o: {
  host: string;
  port: number;
  linkgate: readonly string[];
  hostPatterns: readonly string[];
  log?: (line: string) => void;
}): Promise<DemoOrigin> {
  const log = o.log ?? ((line: string) => console.log(line));
  const server = https.createServer(
    { cert: readFileSync(new URL("cert.pem", dir)), key: readFileSync(new URL("key.pem", dir)) },
    (req, res) => {
      const info = linkgateInfo(req);
      const who = `tenant=${info?.tenant ?? "-"} via=${info?.identity ?? "public"} client=${info?.source?.address ?? "-"}`;
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (d: string) => {
        if (body.length < 65536) body += d;
      });
      req.on("end", () => {
        let answer: { status: number; json: unknown };
        if (req.method === "POST" && req.url === "/v1/send") {
          let mail: { to?: unknown; subject?: unknown } = {};
          try {
            mail = JSON.parse(body);
          } catch {
            // an empty or broken body is still "accepted" by this toy API
          }
          answer = {
            status: 202,
            json: {
              queued: true,
              tenant: info?.tenant ?? null,
              to: mail.to ?? null,
              via: info?.identity ?? "public",
            },
          };
        } else {
          answer = {
            status: 200,
            json: {
              service: "demo email API",
              tenant: info?.tenant ?? null,
              via: info?.identity ?? "public",
            },
          };
        }
        log(`demo origin: ${req.method} ${req.url} ${who} -> ${answer.status}`);
        res.writeHead(answer.status, { "content-type": "application/json" });
        res.end(`${JSON.stringify(answer.json)}\n`);
      });
    },
  );
  behindLinkgate(server, {
    trustedProxies: o.linkgate,
    hosts: { hostPatterns: o.hostPatterns },
    onDrop: (d) => log(`demo origin: dropped a connection from ${d.peer.address} (${d.code})`),
    onMisdirected: (m) =>
      log(`demo origin: 421 for ${m.host} on a connection for tenant ${m.tenant}`),
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => {
      server.off("error", reject);
      resolve({ close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [host, port] = (process.argv[2] ?? "127.0.0.1:9443").split(/:(?=\d+$)/);
  await startDemoOrigin({
    host,
    port: Number(port),
    linkgate: ["127.0.0.0/8"],
    hostPatterns: ["{tenant}.api.example.com", "{tenant}.privatelink.example.com"],
  });
  console.log(`demo origin: the email API listens on ${host}:${port}`);
}
