/**
 * Load-balancer health checks. A LOCAL PROXY header marks a connection the load balancer made
 * itself: it is never routed to a tenant. If an HTTP request follows (AWS NLB and Azure HTTP
 * probes), linkgate answers it, 200 when ready and 503 while draining or not ready, so the load
 * balancer takes a draining instance out of rotation; otherwise (TCP checks) it closes.
 */
import type { EngineSocket } from "./engine.js";

const MAX_REQUEST_BYTES = 8192;
const CRLFCRLF = Buffer.from("\r\n\r\n");

export type HealthCheckResult = "need-more" | "http" | "other";

/** Gathers the bytes after a LOCAL header until an HTTP request's head is complete. */
export class HealthCheckReader {
  /** The request was answered: what follows is ignored until the prober closes. */
  answered = false;
  #chunks: Buffer[] = [];
  #length = 0;

  push(chunk: Buffer): HealthCheckResult {
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    const head = this.#chunks.length === 1 ? chunk : Buffer.concat(this.#chunks, this.#length);
    // An HTTP request starts with an upper-case method token and a space.
    let i = 0;
    while (i < head.length && i < 16 && head[i] >= 0x41 && head[i] <= 0x5a) i++;
    if (i === head.length && i < 16) return "need-more";
    if (i === 0 || head[i] !== 0x20) return "other";
    if (head.indexOf(CRLFCRLF) >= 0) return "http";
    return this.#length > MAX_REQUEST_BYTES ? "other" : "need-more";
  }
}

const OK = Buffer.from(
  "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 3\r\nconnection: close\r\n\r\nok\n",
);
const NOT_READY = Buffer.from(
  "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 10\r\nconnection: close\r\n\r\nnot ready\n",
);

/** Answers, then half-closes: the prober closes (or the header deadline does). */
export function answerHealthCheck(socket: EngineSocket, ready: boolean): void {
  const answer = ready ? OK : NOT_READY;
  socket.write(answer, answer.length);
  socket.shutdown();
}
