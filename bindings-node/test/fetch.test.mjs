// authFetch against the reference server. The global fetch trusts the server's
// CA only through NODE_EXTRA_CA_CERTS, read at start-up, so the checks run in a
// child process (test/fixtures/auth_fetch_child.mjs).
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { authFetch, Client, ConfigError } from 'synapsestream-auth'
import { runNode, startServer } from './harness.mjs'

let server
before(async () => {
  server = await startServer()
})
after(async () => {
  await server?.stop()
})

test('authFetch attaches credentials and refreshes-and-retries once on 418', async () => {
  const { code, stdout, stderr } = await runNode(['test/fixtures/auth_fetch_child.mjs'], {
    env: { NODE_EXTRA_CA_CERTS: server.caFile, SYNAPSE_TEST_SERVER: JSON.stringify(server.info) },
  })
  assert.equal(code, 0, `child failed:\n${stdout}\n${stderr}`)
  assert.deepEqual(JSON.parse(stdout.trim().split('\n').at(-1)), { oauth: 'ok', apiKey: 'ok', errors: 'ok' })
})

test('authFetch validates its arguments', () => {
  assert.throws(() => authFetch({}), ConfigError)
  const client = new Client(server.devClientOptions())
  assert.equal(typeof authFetch(client), 'function')
  assert.throws(() => authFetch(client, { fetch: 'nope' }), ConfigError)
})
