/**
 * The console checks links and CIDRs as the customer types (assets/validate.js): it must accept
 * exactly what the API accepts, or the page would refuse good IDs or let typos through to a 400.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import fc from "fast-check";
import { linkProblem } from "../../src/control/input.js";
import { parseCidr } from "../../src/ip/cidr.js";

interface PageChecks {
  linkProblem(link: string): string | null;
  cidrProblem(cidr: string): string | null;
  expiryProblem(local: string, now: number): string | null;
}

// A plain ES module for the browser, without types for TypeScript: imported by URL.
const page = (await import(
  pathToFileURL(`${import.meta.dirname}/../../src/control/console/assets/validate.js`).href
)) as PageChecks;

function agreeOnLink(link: string): void {
  assert.equal(
    page.linkProblem(link) === null,
    linkProblem(link) === null,
    `link ${JSON.stringify(link)}`,
  );
}

function agreeOnCidr(cidr: string): void {
  assert.equal(page.cidrProblem(cidr) === null, parseCidr(cidr).ok, `cidr ${JSON.stringify(cidr)}`);
}

test("links: the page and the API accept the same ones", () => {
  for (const link of [
    "aws:vpce-0123456789abcdef0",
    "aws:vpce-0123abcd",
    "aws:vpce-0123456789ABCDEF0",
    "aws:vpce-0123456789abcdef",
    "aws:vpce-0123456789abcdef01",
    "aws:vpce-0123456789abcdeg0",
    "aws:vpc-0123456789abcdef0",
    "AWS:vpce-0123456789abcdef0",
    "azure:0",
    "azure:553665985",
    "azure:4294967295",
    "azure:4294967296",
    "azure:0553665985",
    "azure:-1",
    "azure:",
    "gcp:18446744072646845442",
    "gcp:18446744073709551615",
    "gcp:18446744073709551616",
    "gcp:018446744072646845442",
    "gcp:1e3",
    "vpce-0123456789abcdef0",
    "553665985",
    "",
    ":",
  ]) {
    agreeOnLink(link);
  }
  fc.assert(
    fc.property(
      fc.constantFrom("aws:vpce-", "azure:", "gcp:", "aws:", "Azure:", ""),
      fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEF-x ".split("")), maxLength: 22 }),
      (prefix, rest) => agreeOnLink(prefix + rest),
    ),
    { numRuns: 3000 },
  );
});

test("CIDRs: the page and the API accept the same ones", () => {
  for (const cidr of [
    "203.0.113.0/24",
    "203.0.113.1/24",
    "203.0.113.0",
    "203.0.113.0/33",
    "203.0.113.0/024",
    "010.0.0.0/8",
    "10.0.0.0/8",
    "0.0.0.0/0",
    "2001:db8::/32",
    "2001:DB8:0:0::/32",
    "2001:db8::1/32",
    "::/0",
    "::1/128",
    "::ffff:10.0.0.0/104",
    "1:2:3:4:5:6:7:8/128",
    "1:2:3:4:5:6:7::/128",
    "1:2:3:4::5:6:7:8/128",
    "::1:2:3:4:5:6:7:8/128",
    "1::2::3/128",
    "1:2:3:4:5:6:1.2.3.4/128",
    "::1.2.3.4/128",
    "1.2.3.4::/128",
    "fe80::1%eth0/64",
    "[2001:db8::]/32",
    "2001:db8:::/32",
    ":1::/16",
    "10.0.0.0/",
    "/8",
  ]) {
    agreeOnCidr(cidr);
  }
  fc.assert(
    fc.property(
      fc.oneof(
        fc.tuple(fc.nat(300), fc.nat(300), fc.nat(300), fc.nat(300)).map((b) => b.join(".")),
        // IPv6-like: groups, some empty (so "::" appears), an IPv4 tail now and then.
        fc
          .array(
            fc.constantFrom("", "", "0", "1", "db8", "FFFF", "abcd", "12345", "1.2.3.4", "g"),
            {
              minLength: 1,
              maxLength: 10,
            },
          )
          .map((g) => g.join(":")),
        fc.string({ unit: fc.constantFrom(..."0123456789abcdef:.".split("")), maxLength: 40 }),
      ),
      fc.oneof(
        fc.constant(""),
        fc.nat(140).map((n) => `/${n}`),
        fc.constantFrom("/08", "/-1", "/"),
      ),
      (address, prefix) => agreeOnCidr(address + prefix),
    ),
    { numRuns: 5000 },
  );
});

test("the page names the fix: lower case, the network of a CIDR with host bits", () => {
  assert.match(
    page.linkProblem("aws:vpce-0123456789ABCDEF0") ?? "",
    /aws:vpce-0123456789abcdef0|vpce-0123456789abcdef0/,
  );
  assert.match(page.cidrProblem("10.0.0.1/8") ?? "", /did you mean "10\.0\.0\.0\/8"/);
  assert.match(page.cidrProblem("2001:DB8::1/32") ?? "", /did you mean "2001:db8::\/32"/);
  assert.match(page.cidrProblem("10.1.2.3") ?? "", /did you mean "10\.1\.2\.3\/32"/);
});

test("expiry: empty is none; the past and nonsense are refused", () => {
  const now = Date.parse("2025-06-01T12:00:00Z");
  assert.equal(page.expiryProblem("", now), null);
  assert.equal(page.expiryProblem("2099-01-01T00:00", now), null);
  assert.match(page.expiryProblem("2020-01-01T00:00", now) ?? "", /future/);
  assert.match(page.expiryProblem("tomorrow", now) ?? "", /not a valid/);
});
