import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HealthCheckReader } from "../../src/dataplane/index.js";

describe("HealthCheckReader", () => {
  test("an HTTP request head, whole or in pieces", () => {
    assert.equal(
      new HealthCheckReader().push(Buffer.from("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")),
      "http",
    );
    const r = new HealthCheckReader();
    assert.equal(r.push(Buffer.from("GE")), "need-more");
    assert.equal(r.push(Buffer.from("T / HTTP/1.1\r\n")), "need-more");
    assert.equal(r.push(Buffer.from("\r\n")), "http");
  });

  test("anything else is not HTTP: TLS, lower case, no space, an endless head", () => {
    assert.equal(new HealthCheckReader().push(Buffer.from([0x16, 0x03, 0x01])), "other");
    assert.equal(new HealthCheckReader().push(Buffer.from("get / HTTP/1.1\r\n\r\n")), "other");
    assert.equal(new HealthCheckReader().push(Buffer.from("GET/\r\n\r\n")), "other");
    const r = new HealthCheckReader();
    assert.equal(r.push(Buffer.from("GET /")), "need-more");
    assert.equal(r.push(Buffer.alloc(9000, 0x61)), "other", "no end of head within 8 KiB");
  });
});
