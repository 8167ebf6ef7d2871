/// <reference types="node" />
// Types of synapsestream-auth: the hand-written JS layer (index.js, index.mjs)
// over the native part, whose types `napi build` generates into native.d.ts.

import type { Stats as NativeStats } from './native'

/** Core's stable error codes (`SynapseAuthError#code`). */
export type ErrorCode =
  | 'invalid_credentials'
  | 'insufficient_scope'
  | 'token_expired'
  | 'rate_limited'
  | 'circuit_open'
  | 'transport'
  | 'protocol'
  | 'config'
  | 'invalid_token'
  | 'api'

/** A snapshot of the client's counters (generated from the native module). */
export interface Stats extends NativeStats {
  circuitState: 'closed' | 'open' | 'half_open'
}

/**
 * Client settings. Every field maps onto a core configuration key (`clientId`
 * -> `client_id`, ...); `options` passes any other core key (see
 * `CONFIG_KEYS`) as is, e.g. `{ max_attempts: '1', circuit_threshold: '5' }`.
 * Durations are seconds.
 */
export interface ClientOptions {
  clientId?: string
  clientSecret?: string
  /** A file holding the client secret (re-read when the server rejects it). */
  clientSecretFile?: string
  /** `sk_live_...`: API-key authentication (`X-API-Key`) instead of OAuth. */
  apiKey?: string
  apiKeyFile?: string
  /** Default scopes, as an array or a space/comma separated string. */
  scopes?: readonly string[] | string
  /** Default `https://api.synapsestream.io`. */
  baseUrl?: string
  tokenUrl?: string
  jwksUrl?: string
  authMethod?: 'oauth' | 'api_key'
  clientAuth?: 'body' | 'basic'
  /** An extra trusted root CA, as a PEM file path. */
  caFile?: string
  /** An extra trusted root CA, as PEM text. */
  caPem?: string
  proxy?: string
  /** Timeout of one HTTP exchange, in seconds (default 30). */
  timeout?: number
  /** TCP + TLS connect timeout, in seconds (default 10). */
  connectTimeout?: number
  /** Attempts per token request or API call, the first included (default 4). */
  maxAttempts?: number
  /** A token cache shared between processes, e.g. `file` or `file:/run/synapse`. */
  tokenCache?: string
  /** Any core configuration key with its string value. */
  options?: Record<string, string | number | boolean>
}

/** What `JSON.stringify(token)` gives: everything but the token value. */
export interface TokenJSON {
  token: '***'
  tokenType: string
  scopes: readonly string[]
  expiresAt: string
}

/**
 * An access token. One object per token: cache hits hand out the same object.
 * `util.inspect`, `JSON.stringify` and `toString()` show the value redacted.
 */
export declare class Token {
  private constructor()
  /** The access token itself. */
  readonly token: string
  /** Always `Bearer`. */
  readonly tokenType: string
  /** The scopes the server granted. */
  readonly scopes: readonly string[]
  /** When the client stops using the token (the server's expiry minus a safety margin). */
  readonly expiresAt: Date
  /** Seconds left until `expiresAt`. */
  readonly expiresIn: number
  /** Process-unique id of this token. */
  readonly id: number
  toJSON(): TokenJSON
  toString(): string
}

/** An API call for `Client#request`. */
export interface RequestOptions {
  /** Default `GET`. */
  method?: string
  /** A path relative to the base URL (`/v1/models`), or an absolute URL on the same host. */
  path?: string
  /** Alias of `path`. */
  url?: string
  /** A JSON body (sets `content-type: application/json`). */
  json?: unknown
  /** A raw body. */
  body?: string | Uint8Array | ArrayBuffer
  headers?: Record<string, string> | Headers | ReadonlyArray<readonly [string, string]>
  /** Scopes for this call's token (default: the client's). */
  scopes?: readonly string[] | string
  /** Timeout of this call, in seconds. */
  timeout?: number
}

/** A successful (status below 400) API response. */
export declare class ApiResponse {
  private constructor()
  readonly status: number
  /** Header names in lower case; repeated headers joined with `, `. */
  readonly headers: Readonly<Record<string, string>>
  readonly body: Buffer
  /** True for 2xx. */
  readonly ok: boolean
  /** The body as UTF-8 text. */
  text(): string
  /** The body parsed as JSON; a `ProtocolError` when it is not JSON. */
  json<T = unknown>(): T
}

/** The claims of a verified JWT. */
export interface Claims {
  sub?: string
  iss?: string
  aud?: string | string[]
  exp?: number
  iat?: number
  nbf?: number
  scope?: string
  [claim: string]: unknown
}

/** What `JSON.stringify(client)` and `util.inspect(client)` show: no secret. */
export interface ClientJSON {
  clientId: string | null
  authMethod: 'oauth' | 'api_key'
  baseUrl: string
  scopes: string[]
}

/**
 * A SynapseStream client: tokens (cached, refreshed ahead of expiry, one token
 * request for any number of concurrent callers), authenticated API calls and
 * JWT verification. Everything networked returns a Promise and runs on the
 * Rust core's threads: the event loop never blocks.
 */
export declare class Client {
  /** @throws {ConfigError} on a bad setting, naming the field in `.field`. */
  constructor(options?: ClientOptions)
  /** A client from `SYNAPSE_*` environment variables; `options` override them. */
  static fromEnv(options?: ClientOptions): Client
  readonly clientId: string | null
  readonly baseUrl: string
  readonly scopes: string[]
  readonly authMethod: 'oauth' | 'api_key'
  /** The cached token if it is valid, else null (synchronous; the same object on every hit). */
  currentToken(): Token | null
  /** A valid access token; a cache hit resolves at once with the same object. */
  getToken(options?: { scopes?: readonly string[] | string } | readonly string[]): Promise<Token>
  /** An authenticated API call; statuses of 400 and above reject with a `SynapseAuthError`. */
  request(options: RequestOptions | string): Promise<ApiResponse>
  /** Verifies a JWT against the provider's JWKS. */
  verify(jwt: string): Promise<Claims>
  /** Forgets every cached token: the next call fetches a new one. */
  invalidate(): void
  /** Replaces the client secret on the live client. */
  setClientSecret(secret: string): void
  /** Replaces the API key on the live client. */
  setApiKey(key: string): void
  stats(): Stats
  toJSON(): ClientJSON
}

/** `RequestInit` defaults for every call of an `authFetch` function, plus the fetch to use. */
export interface AuthFetchInit extends RequestInit {
  /** The fetch implementation (default: the global `fetch`). */
  fetch?: typeof globalThis.fetch
}

/** A function with the signature of `fetch`. */
export type FetchFunction = (input: string | URL | Request, init?: RequestInit) => Promise<Response>

/**
 * A `fetch` that attaches the client's credentials (`Authorization: Bearer`, or
 * `X-API-Key`) and, when the API answers 418 or 401, gets a new token and
 * retries once. Relative URLs resolve against the client's base URL;
 * credentials are never sent to another origin.
 */
export declare function authFetch(client: Client, init?: AuthFetchInit): FetchFunction

/** Details carried by every `SynapseAuthError`. */
export interface SynapseAuthErrorDetails {
  code?: ErrorCode
  status?: number
  retryAfter?: number
  requiredScope?: string
  field?: string
  body?: string
}

/** Every error of this package. */
export declare class SynapseAuthError extends Error {
  constructor(message: string, details?: SynapseAuthErrorDetails)
  /** Core's stable code, e.g. `'rate_limited'`. */
  code: ErrorCode
  /** The HTTP status behind the error, when there was one. */
  status?: number
  /** Seconds to wait before trying again (rate limits). */
  retryAfter?: number
  /** The scope the server said was missing (`insufficient_scope`). */
  requiredScope?: string
  /** The configuration field at fault (`config`). */
  field?: string
  /** The response body of an `api` error (truncated). */
  body?: string
}
export declare class InvalidCredentialsError extends SynapseAuthError {
  static readonly code: 'invalid_credentials'
}
export declare class InsufficientScopeError extends SynapseAuthError {
  static readonly code: 'insufficient_scope'
}
export declare class TokenExpiredError extends SynapseAuthError {
  static readonly code: 'token_expired'
}
export declare class RateLimitedError extends SynapseAuthError {
  static readonly code: 'rate_limited'
}
export declare class CircuitOpenError extends SynapseAuthError {
  static readonly code: 'circuit_open'
}
export declare class TransportError extends SynapseAuthError {
  static readonly code: 'transport'
}
export declare class ProtocolError extends SynapseAuthError {
  static readonly code: 'protocol'
}
export declare class ConfigError extends SynapseAuthError {
  static readonly code: 'config'
}
export declare class InvalidTokenError extends SynapseAuthError {
  static readonly code: 'invalid_token'
}
export declare class ApiError extends SynapseAuthError {
  static readonly code: 'api'
}

/** The error class for a code (`SynapseAuthError` for an unknown one). */
export declare function errorClassFor(code: string): typeof SynapseAuthError

/** Core's configuration keys (for `ClientOptions.options` and `SYNAPSE_<KEY>` variables). */
export declare const CONFIG_KEYS: readonly string[]
/** Every error code, in core's stable numeric order. */
export declare const ERROR_CODES: readonly ErrorCode[]
