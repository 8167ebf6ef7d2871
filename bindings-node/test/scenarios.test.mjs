// Runs every shared scenario of tests/scenarios/scenarios.json (read at run
// time, never copied) against the reference server through the JS API.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Client, SynapseAuthError, Token, errorClassFor } from 'synapsestream-auth'
import { loadScenarios, startServer } from './harness.mjs'

const { scenarios } = loadScenarios()
let server

before(async () => {
  server = await startServer()
})
after(async () => {
  await server?.stop()
})

function buildClient(spec) {
  const options = server.clientOptions()
  if (spec.auth === 'oauth') {
    options.clientId = spec.client_id
    options.clientSecret = spec.client_secret === '$server' ? server.secretOf(spec.client_id) : spec.client_secret
  } else if (spec.auth === 'api_key') {
    options.apiKey = spec.api_key
  } else {
    throw new Error(`unknown auth ${spec.auth}`)
  }
  if (spec.scopes) options.scopes = spec.scopes
  if (spec.options) options.options = spec.options
  return new Client(options)
}

/** Awaits `promise` and checks it against an `{"error": code, ...}` expectation. */
async function expectError(promise, expect, what) {
  let error
  try {
    await promise
  } catch (e) {
    error = e
  }
  assert.ok(error, `${what}: expected error ${expect.error}, but it succeeded`)
  assert.ok(error instanceof SynapseAuthError, `${what}: not a SynapseAuthError: ${error?.stack}`)
  assert.equal(error.code, expect.error, `${what}: code (message: ${error.message})`)
  assert.ok(error instanceof errorClassFor(expect.error), `${what}: class ${error.constructor.name}`)
  if (expect.status !== undefined) assert.equal(error.status, expect.status, `${what}: status`)
  if (expect.retry_after_min !== undefined) {
    assert.ok(error.retryAfter >= expect.retry_after_min, `${what}: retryAfter ${error.retryAfter}`)
  }
}

class Run {
  constructor(client) {
    this.client = client
    this.previous = null // the token string of the previous get_token
    this.current = null // the last token obtained
    this.remembered = null
  }

  checkToken(token, expect, what) {
    assert.ok(token instanceof Token, `${what}: not a Token`)
    assert.equal(typeof token.token, 'string')
    assert.ok(token.expiresAt instanceof Date && token.expiresAt > new Date(), `${what}: expiresAt`)
    for (const scope of expect.scopes_include ?? []) {
      assert.ok(token.scopes.includes(scope), `${what}: scope ${scope} missing from ${token.scopes}`)
    }
    if (expect.same_token === true) assert.equal(token.token, this.previous, `${what}: expected the same token`)
    if (expect.same_token === false) assert.notEqual(token.token, this.previous, `${what}: expected a new token`)
  }

  async step(step, what) {
    const { client } = this
    const expect = step.expect ?? {}
    switch (step.op) {
      case 'get_token': {
        if (expect.error) return expectError(client.getToken(), expect, what)
        const token = await client.getToken()
        this.checkToken(token, expect, what)
        this.previous = token.token
        this.current = token
        return
      }
      case 'concurrent_get_token': {
        const calls = Array.from({ length: step.count }, () => client.getToken())
        if (expect.error) {
          await Promise.all(calls.map((c, i) => expectError(c, expect, `${what} #${i}`)))
          return
        }
        const tokens = await Promise.all(calls)
        for (const [i, token] of tokens.entries()) this.checkToken(token, expect, `${what} #${i}`)
        this.previous = tokens.at(-1).token
        this.current = tokens.at(-1)
        return
      }
      case 'request': {
        const call = client.request({ method: step.method, path: step.path, json: step.json })
        if (expect.error) return expectError(call, expect, what)
        const response = await call
        if (expect.status !== undefined) assert.equal(response.status, expect.status, `${what}: status`)
        return
      }
      case 'verify': {
        const jwt =
          step.token === '$current' ? this.current?.token : step.token === '$remembered' ? this.remembered?.token : step.token
        assert.equal(typeof jwt, 'string', `${what}: no token to verify`)
        if (expect.error) return expectError(client.verify(jwt), expect, what)
        const claims = await client.verify(jwt)
        if (expect.sub !== undefined) assert.equal(claims.sub, expect.sub, `${what}: sub`)
        return
      }
      case 'remember_token':
        this.remembered = this.current
        return
      case 'invalidate':
        client.invalidate()
        return
      case 'sleep':
        await sleep(step.ms)
        return
      case 'admin':
        await server.admin(step.method, step.path, step.body)
        return
      case 'expect_counters': {
        const counters = await server.counters()
        const got = {
          token_requests: counters.token_requests.total,
          refresh_grants: counters.token_requests.by_grant.refresh_token ?? 0,
          client_credentials_grants: counters.token_requests.by_grant.client_credentials ?? 0,
        }
        for (const key of Object.keys(got)) {
          if (step[key] !== undefined) assert.equal(got[key], step[key], `${what}: ${key} (counters ${JSON.stringify(counters)})`)
        }
        return
      }
      default:
        throw new Error(`${what}: unknown op ${step.op}`)
    }
  }
}

describe('shared scenarios', () => {
  test('the scenario file lists scenarios', () => {
    assert.ok(scenarios.length >= 20, `${scenarios.length} scenarios`)
  })

  for (const scenario of scenarios) {
    test(scenario.name, async () => {
      await server.reset(scenario.server?.token_ttl_secs ?? 3600)
      const run = new Run(buildClient(scenario.client))
      for (const [i, step] of scenario.steps.entries()) {
        await run.step(step, `${scenario.name} step ${i + 1} (${step.op})`)
      }
    })
  }
})
