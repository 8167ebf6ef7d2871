// examples/quickstart.mjs
// Settings come from SYNAPSE_* environment variables: SYNAPSE_CLIENT_ID,
// SYNAPSE_CLIENT_SECRET, SYNAPSE_SCOPES, SYNAPSE_BASE_URL, SYNAPSE_CA_FILE, ...
import { Client } from 'synapsestream-auth'

const client = Client.fromEnv()

// Cached, refreshed ahead of expiry; concurrent callers share one token request.
const token = await client.getToken()
console.log(`token for ${token.scopes.join(' ')}, valid until ${token.expiresAt.toISOString()}`)
console.log(token) // the value is redacted: Token { token: '***', ... }

// An authenticated call: the token is attached, failures are retried, and an
// expired token is refreshed once and the call retried once.
const models = await client.request({ method: 'GET', path: '/v1/models' })
console.log(models.status, models.json())

const accepted = await client.request({
  method: 'POST',
  path: '/v1/data/stream',
  json: { stream_id: 'nn-435X', data: [0.1, 0.2, 0.3] },
})
console.log(accepted.status, accepted.json())
