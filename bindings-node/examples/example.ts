// examples/example.ts
import {
  ApiResponse,
  Claims,
  Client,
  ClientOptions,
  InsufficientScopeError,
  Stats,
  SynapseAuthError,
  Token,
  authFetch,
} from 'synapsestream-auth'

const options: ClientOptions = {
  clientId: process.env.SYNAPSE_CLIENT_ID,
  clientSecret: process.env.SYNAPSE_CLIENT_SECRET,
  scopes: ['inference', 'training'],
  baseUrl: process.env.SYNAPSE_BASE_URL,
  caFile: process.env.SYNAPSE_CA_FILE,
}

async function main(): Promise<void> {
  const client = new Client(options)
  const token: Token = await client.getToken()
  const expiresAt: Date = token.expiresAt
  console.log(`${token.tokenType} token, ${token.scopes.length} scopes, until ${expiresAt.toISOString()}`)

  const models: ApiResponse = await client.request({ path: '/v1/models' })
  const body = models.json<{ data?: unknown[] }>()
  console.log(models.status, Array.isArray(body.data))

  const claims: Claims = await client.verify(token.token)
  console.log('sub', claims.sub)

  try {
    await client.request({ method: 'POST', path: '/v1/data/stream', json: { stream_id: '' } })
  } catch (error) {
    if (error instanceof InsufficientScopeError) console.log('missing scope', error.requiredScope)
    else if (error instanceof SynapseAuthError) console.log('error', error.code, error.status)
    else throw error
  }

  const stats: Stats = client.stats()
  console.log('token requests', stats.tokenRequests, 'circuit', stats.circuitState)

  const apiFetch: (input: string | URL | Request, init?: RequestInit) => Promise<Response> = authFetch(client)
  console.log(typeof apiFetch)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
