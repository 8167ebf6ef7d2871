// examples/auth_fetch.mjs
// The global fetch trusts a private CA only through NODE_EXTRA_CA_CERTS:
//   NODE_EXTRA_CA_CERTS=$SYNAPSE_CA_FILE node examples/auth_fetch.mjs
import { Client, authFetch } from 'synapsestream-auth'

const client = Client.fromEnv()
// Same signature as fetch; relative URLs resolve against the base URL, and a
// 418/401 answer makes it get a new token and retry once.
const apiFetch = authFetch(client, { headers: { 'user-agent': 'example/1.0' } })

const response = await apiFetch('/v1/models')
console.log(response.status, await response.json())

const posted = await apiFetch('/v1/data/stream', {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ stream_id: 'nn-435X', data: [1, 2, 3] }),
})
console.log(posted.status, await posted.json())
