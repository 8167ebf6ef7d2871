// ESM entry of synapsestream-auth: re-exports the CommonJS module, so `import`
// and `require` share one module instance (same classes, same native addon).
import cjs from './index.js'

export const {
  Client,
  Token,
  ApiResponse,
  authFetch,
  SynapseAuthError,
  InvalidCredentialsError,
  InsufficientScopeError,
  TokenExpiredError,
  RateLimitedError,
  CircuitOpenError,
  TransportError,
  ProtocolError,
  ConfigError,
  InvalidTokenError,
  ApiError,
  errorClassFor,
  CONFIG_KEYS,
  ERROR_CODES,
} = cjs

export default cjs
