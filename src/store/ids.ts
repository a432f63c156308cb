/** Identifiers of rules and tokens, and the secrets of tenant tokens. */

import { createHash, randomBytes } from "node:crypto";
import { ruleIdOf } from "../policy/policy.js";

/** A new rule id: "r_" and 80 random bits in hex. */
export function newRuleId(): string {
  return `r_${randomBytes(10).toString("hex")}`;
}

/** A new token id: "tok_" and 64 random bits in hex. The id is not a secret. */
export function newTokenId(): string {
  return `tok_${randomBytes(8).toString("hex")}`;
}

/** The prefix of every tenant token secret: tells it from admin tokens and in secret scanners. */
export const TOKEN_SECRET_PREFIX = "lgt_";

/** A new tenant token secret: the prefix and 256 random bits (base64url). Shown once. */
export function newTokenSecret(): string {
  return `${TOKEN_SECRET_PREFIX}${randomBytes(32).toString("base64url")}`;
}

/**
 * What the store keeps of a token secret: its SHA-256. A fast hash is enough here: the secret
 * is 256 random bits, so no dictionary or brute-force search can find it from the hash, which
 * a slow password hash (bcrypt, scrypt, argon2) exists to slow down for human-chosen
 * passwords. A deterministic hash also lets a token be found by an index lookup, and keeps
 * each request fast, where a slow hash would hand a denial of service to anyone sending
 * made-up tokens.
 */
export function tokenHash(secret: string): Buffer {
  return createHash("sha256").update(secret, "utf8").digest();
}

/** The id of a rule of the configuration file (see ruleIdOf in src/policy: one derivation). */
export function fileRuleId(tenantId: string, link: string | null, cidr: string | null): string {
  return ruleIdOf(tenantId, link, cidr);
}
