/**
 * Errors of the REST API: each is a catalogue code, answered with its HTTP status as
 * `{"error": {"code", "message", ...}}`. Input never causes a 500: Fastify's own errors
 * (body size, media type, JSON syntax) get codes too, and only a bug is INTERNAL_ERROR.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { type ErrorCode, LinkgateError } from "../errors/index.js";

/** The HTTP status of each code the API answers with. */
export const HTTP_STATUS = {
  NOT_FOUND: 404,
  AUTH_REQUIRED: 401,
  AUTH_INVALID: 401,
  AUTH_FORBIDDEN: 403,
  AUTH_RATE_LIMITED: 429,
  BODY_TOO_LARGE: 413,
  BODY_INVALID: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  VALIDATION_FAILED: 400,
  UNKNOWN_FIELD: 400,
  CURSOR_INVALID: 400,
  TENANT_NOT_FOUND: 404,
  TENANT_EXISTS: 409,
  TENANT_MANAGED_BY_CONFIG: 409,
  HOSTNAME_INVALID: 400,
  HOSTNAME_TAKEN: 409,
  UPSTREAM_INVALID: 400,
  UPSTREAM_REQUIRED: 400,
  RULE_NOT_FOUND: 404,
  RULE_EMPTY: 400,
  RULE_INVALID_LINK: 400,
  RULE_INVALID_CIDR: 400,
  RULE_INVALID_EXPIRY: 400,
  RULE_DUPLICATE: 409,
  RULES_LIMIT: 409,
  PRECONDITION_FAILED: 412,
  LOCKOUT_GUARD: 409,
  TOKEN_NOT_FOUND: 404,
  OBSERVED_NOT_FOUND: 404,
  STORE_READ_ONLY: 409,
  STORE_NOT_CONFIGURED: 409,
  STORE_UNAVAILABLE: 503,
  INTERNAL_ERROR: 500,
} as const satisfies Partial<Record<ErrorCode, number>>;

export type ApiErrorCode = keyof typeof HTTP_STATUS;

function isApiErrorCode(code: string): code is ApiErrorCode {
  return Object.hasOwn(HTTP_STATUS, code);
}

/** An error answered to the client: a code, a message, and extra fields for the body. */
export class ApiError extends LinkgateError {
  readonly status: number;
  readonly extra: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    code: ApiErrorCode,
    message: string,
    options: { extra?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(code, message);
    this.name = "ApiError";
    this.status = HTTP_STATUS[code];
    this.extra = options.extra ?? {};
    this.headers = options.headers ?? {};
  }
}

/** Fastify's request errors, by their code. */
const FASTIFY_CODES: Record<string, ApiErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: "BODY_TOO_LARGE",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "BODY_INVALID",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  FST_ERR_CTP_EMPTY_JSON_BODY: "BODY_INVALID",
  FST_ERR_CTP_INVALID_JSON_BODY: "BODY_INVALID",
};

const FASTIFY_MESSAGES: Partial<Record<ApiErrorCode, string>> = {
  BODY_TOO_LARGE: "the request body is larger than limits.maxApiBodyBytes",
  UNSUPPORTED_MEDIA_TYPE: "send the body as JSON, with Content-Type: application/json",
  BODY_INVALID:
    "the body is not valid JSON (an empty body needs no Content-Type; keys such as __proto__ are refused)",
};

/** Any error thrown while serving a request, as an ApiError. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof LinkgateError && isApiErrorCode(error.code)) {
    return new ApiError(error.code, error.message);
  }
  const fastify = error as Partial<FastifyError> | null;
  const code = typeof fastify?.code === "string" ? FASTIFY_CODES[fastify.code] : undefined;
  if (code !== undefined) return new ApiError(code, FASTIFY_MESSAGES[code] ?? code);
  // Fastify reports other malformed requests (a JSON syntax error) with a 4xx status.
  const status = fastify?.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    return new ApiError("BODY_INVALID", fastify?.message ?? "the request is malformed");
  }
  return new ApiError("INTERNAL_ERROR", "an unexpected error; it is logged");
}

/** Answers `error` in the API's format. */
export function sendError(request: FastifyRequest, reply: FastifyReply, error: unknown): void {
  const api = toApiError(error);
  if (api.code === "INTERNAL_ERROR") {
    request.log.error({ err: error, url: request.url }, "request failed");
  } else if (api.code === "STORE_UNAVAILABLE") {
    // The outage itself is logged once, when the store goes down: a line per refused request,
    // without a stack and below error, so that clients retrying do not flood the error log.
    request.log.warn(
      { url: request.url, method: request.method, code: api.code, reason: api.message },
      "request refused: store unavailable",
    );
  }
  reply
    .code(api.status)
    .headers(api.headers)
    .send({ error: { code: api.code, message: api.message, ...api.extra } });
}
