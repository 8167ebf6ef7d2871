// Type-checked only (tsc --noEmit): the package's types seen from an ES module.
import auth, { Client, ERROR_CODES, authFetch, errorClassFor } from 'synapsestream-auth'
import type { ErrorCode, FetchFunction, RequestOptions, TokenJSON } from 'synapsestream-auth'

const client: Client = auth.Client.fromEnv({ options: { max_attempts: 2 } })
const codes: readonly ErrorCode[] = ERROR_CODES
const request: RequestOptions = { method: 'POST', path: '/v1/data/stream', json: { stream_id: 'x', data: [] } }
const fetcher: FetchFunction = authFetch(client, { headers: { 'x-a': 'b' } })
const token = await client.getToken({ scopes: 'inference' })
const json: TokenJSON = token.toJSON()
const current = client.currentToken()
const cls: typeof auth.SynapseAuthError = errorClassFor(codes[0] ?? 'api')
void [request, fetcher, json, current?.token, cls]
// @ts-expect-error a Token cannot be constructed by hand
new auth.Token()
// @ts-expect-error scopes are strings
await client.getToken({ scopes: [1] })
