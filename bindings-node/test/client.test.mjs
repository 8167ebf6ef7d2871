// Binding-specific tests: the hot path, single-flight from JS, the event loop,
// responses, errors, redaction and the options mapping.
import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, test } from 'node:test'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import util from 'node:util'
import {
  ApiError,
  ApiResponse,
  CONFIG_KEYS,
  Client,
  ConfigError,
  ERROR_CODES,
  InsufficientScopeError,
  InvalidCredentialsError,
  InvalidTokenError,
  ProtocolError,
  RateLimitedError,
  SynapseAuthError,
  Token,
  TransportError,
  errorClassFor,
} from 'synapsestream-auth'
import native from '../native.js'
import { runNode, startServer } from './harness.mjs'

let server
before(async () => {
  server = await startServer()
})
after(async () => {
  await server?.stop()
})
beforeEach(async () => {
  await server.reset()
})

const API_KEY = 'sk_live_1a2b3c4d5e6f7g8h9i0j'

describe('getToken', () => {
  test('1,000 concurrent calls at cold start make exactly one token request', async () => {
    await server.admin('POST', '/admin/faults', { target: 'token', latency_ms: 100 })
    const client = new Client(server.devClientOptions())
    const tokens = await Promise.all(Array.from({ length: 1000 }, () => client.getToken()))
    const counters = await server.counters()
    assert.equal(counters.token_requests.total, 1)
    assert.equal(client.stats().tokenRequests, 1)
    // Every caller got a Token for the one token; later hits share one object.
    assert.ok(tokens.every((t) => t.token === tokens[0].token))
    const hit = await client.getToken()
    assert.equal(hit, await client.getToken())
  })

  test('a cache hit returns the same object in the same resolved promise, and currentToken() agrees', async () => {
    const client = new Client(server.devClientOptions())
    assert.equal(client.currentToken(), null)
    const first = await client.getToken()
    assert.ok(first instanceof Token)
    const p1 = client.getToken()
    const p2 = client.getToken()
    assert.equal(p1, p2, 'a hit hands out the one already-resolved promise')
    assert.equal(await p1, first)
    assert.equal(client.currentToken(), first)
    assert.deepEqual([...first.scopes].sort(), ['inference', 'training'])
    assert.equal(first.tokenType, 'Bearer')
    assert.ok(first.expiresAt instanceof Date)
    assert.ok(first.expiresIn > 3000 && first.expiresIn <= 3600, `expiresIn ${first.expiresIn}`)
    const before = client.stats().cacheHits
    for (let i = 0; i < 10000; i++) client.getToken()
    assert.equal(client.stats().cacheHits - before, 10000)
    assert.equal((await server.counters()).token_requests.total, 1)
  })

  test('a hit resolves before any macrotask: it never waits on another thread', async () => {
    const client = new Client(server.devClientOptions())
    await client.getToken()
    let timerFired = false
    const timer = setTimeout(() => (timerFired = true), 0)
    await client.getToken()
    await client.getToken()
    assert.equal(timerFired, false)
    clearTimeout(timer)
  })

  test('a new token (after invalidate) gives a new object; scoped tokens are separate', async () => {
    const client = new Client(server.devClientOptions())
    const first = await client.getToken()
    client.invalidate()
    assert.equal(client.currentToken(), null)
    const second = await client.getToken()
    assert.notEqual(second, first)
    assert.notEqual(second.token, first.token)
    const scoped = await client.getToken({ scopes: ['inference'] })
    assert.deepEqual([...scoped.scopes], ['inference'])
    assert.notEqual(scoped.token, second.token)
  })

  test('the event loop keeps running while a token request is slow', async () => {
    await server.admin('POST', '/admin/faults', { target: 'token', latency_ms: 400 })
    const client = new Client(server.devClientOptions())
    const histogram = monitorEventLoopDelay({ resolution: 10 })
    histogram.enable()
    let ticks = 0
    const interval = setInterval(() => ticks++, 10)
    const started = Date.now()
    await Promise.all([client.getToken(), client.request({ path: '/v1/models' }), client.getToken()])
    clearInterval(interval)
    histogram.disable()
    assert.ok(Date.now() - started >= 380)
    assert.ok(ticks >= 15, `only ${ticks} timer ticks in ${Date.now() - started} ms`)
    assert.ok(histogram.max < 200e6, `event loop stalled ${histogram.max / 1e6} ms`)
  })

  test('clients collected by the GC free their hot-path slot, and a reused slot never serves a stale token', async () => {
    const script = `
      const { Client } = require('synapsestream-auth')
      const options = JSON.parse(process.env.OPTIONS)
      const settle = () => new Promise((resolve) => setImmediate(resolve))
      ;(async () => {
        for (let round = 0; round < 3; round++) {
          let clients = Array.from({ length: 50 }, () => new Client(options))
          await Promise.all(clients.map((c) => c.getToken()))
          clients = null
          for (let i = 0; i < 5; i++) { global.gc(); await settle() }
          const fresh = Array.from({ length: 50 }, () => new Client(options))
          if (fresh.some((c) => c.currentToken() !== null)) process.exit(2)
          await fresh[0].getToken()
          if (fresh.slice(1).some((c) => c.currentToken() !== null)) process.exit(3)
        }
        console.log('slots ok')
      })().catch((e) => { console.error(e); process.exit(1) })`
    const { code, stdout, stderr } = await runNode(['--expose-gc', '-e', script], {
      env: { OPTIONS: JSON.stringify(server.devClientOptions({ clientId: 'synapse-dev-norefresh', clientSecret: server.secretOf('synapse-dev-norefresh') })) },
    })
    assert.equal(code, 0, stderr)
    assert.match(stdout, /slots ok/)
  })

  test('setClientSecret rotates the secret on the live client', async () => {
    const client = new Client(server.devClientOptions({ clientSecret: 'wrong-secret', options: { circuit_threshold: '0' } }))
    await assert.rejects(client.getToken(), InvalidCredentialsError)
    client.setClientSecret(server.secretOf('synapse-dev-client'))
    assert.ok((await client.getToken()).token)
  })
})

describe('request and verify', () => {
  test('a response has status, lower-case headers, a Buffer body, text() and json()', async () => {
    const client = new Client(server.devClientOptions())
    const response = await client.request({ method: 'GET', path: '/v1/models', headers: { 'X-Trace': 'abc' } })
    assert.ok(response instanceof ApiResponse)
    assert.equal(response.status, 200)
    assert.equal(response.ok, true)
    assert.match(response.headers['content-type'], /application\/json/)
    assert.ok(Buffer.isBuffer(response.body))
    assert.equal(response.text(), response.body.toString())
    assert.equal(typeof response.json(), 'object')
    assert.equal((await client.request('/v1/models')).status, 200)
  })

  test('json bodies, raw bodies and API keys', async () => {
    const client = new Client(server.clientOptions({ apiKey: API_KEY }))
    assert.equal(client.authMethod, 'api_key')
    const viaJson = await client.request({ method: 'POST', path: '/v1/data/stream', json: { stream_id: 's', data: [1, 2] } })
    assert.equal(viaJson.status, 202)
    assert.equal(viaJson.json().accepted, 2)
    const viaBody = await client.request({
      method: 'POST',
      path: '/v1/data/stream',
      body: new TextEncoder().encode(JSON.stringify({ stream_id: 's', data: [1, 2, 3] })),
      headers: [['content-type', 'application/json']],
    })
    assert.equal(viaBody.json().accepted, 3)
    assert.equal((await server.counters()).token_requests.total, 0)
  })

  test('verify resolves with the claims object', async () => {
    const client = new Client(server.devClientOptions())
    const token = await client.getToken()
    const claims = await client.verify(token.token)
    assert.equal(claims.sub, 'synapse-dev-client')
    assert.equal(typeof claims.exp, 'number')
    assert.equal(claims.iss, server.baseUrl)
    await assert.rejects(client.verify('not-a-jwt'), InvalidTokenError)
    await assert.rejects(client.verify(42), InvalidTokenError)
  })

  test('stats() reports the counters', async () => {
    const client = new Client(server.devClientOptions())
    await client.request({ path: '/v1/models' })
    const stats = client.stats()
    assert.equal(stats.tokenRequests, 1)
    assert.equal(stats.apiRequests, 1)
    assert.equal(stats.circuitState, 'closed')
    for (const value of Object.values(stats)) assert.ok(['number', 'string'].includes(typeof value))
  })
})

describe('errors', () => {
  test('codes, classes and fields', async () => {
    const bad = new Client(server.devClientOptions({ clientSecret: 'wrong-secret' }))
    const e1 = await bad.getToken().catch((e) => e)
    assert.ok(e1 instanceof InvalidCredentialsError && e1 instanceof SynapseAuthError && e1 instanceof Error)
    assert.equal(e1.name, 'InvalidCredentialsError')
    assert.equal(e1.code, 'invalid_credentials')
    assert.notEqual(e1.code, 'GenericFailure')
    assert.equal(e1.status, 401)
    assert.ok(e1.stack.includes('InvalidCredentialsError'))

    const inference = new Client(
      server.clientOptions({ clientId: 'synapse-dev-inference', clientSecret: server.secretOf('synapse-dev-inference') }),
    )
    const e2 = await inference.request({ method: 'POST', path: '/v1/data/stream', json: { stream_id: 's', data: [] } }).catch((e) => e)
    assert.ok(e2 instanceof InsufficientScopeError)
    assert.equal(e2.status, 403)
    assert.equal(e2.requiredScope, 'training')

    const ok = new Client(server.devClientOptions())
    const e3 = await ok.request({ path: '/v1/nothing-here' }).catch((e) => e)
    assert.ok(e3 instanceof ApiError)
    assert.equal(e3.code, 'api')
    assert.equal(e3.status, 404)
    assert.match(e3.body, /not_found/)

    await server.admin('POST', '/admin/faults', { target: 'token', rate_limit_next: 1, retry_after: 7 })
    const limited = new Client(server.devClientOptions())
    const e4 = await limited.getToken().catch((e) => e)
    assert.ok(e4 instanceof RateLimitedError)
    assert.ok(e4.retryAfter >= 6 && e4.retryAfter <= 7, `retryAfter ${e4.retryAfter}`)

    const unreachable = new Client({ ...server.devClientOptions(), baseUrl: 'https://127.0.0.1:9', options: { max_attempts: '1' } })
    await assert.rejects(unreachable.getToken(), TransportError)

    await server.admin('POST', '/admin/faults', { target: 'api', malformed_next: 1 })
    const response = await ok.request({ path: '/v1/models' })
    assert.throws(() => response.json(), ProtocolError)
  })

  test('configuration errors name the field, synchronously', () => {
    const cases = [
      [{ clientId: 'x' }, 'client_secret'],
      [{ clientId: 'x', clientSecret: 'y', baseUrl: 'not a url' }, 'base_url'],
      [{ clientId: 'x', clientSecret: 'y', timeout: 'soon' }, 'timeout'],
      [{ clientId: 'x', clientSecret: 'y', caFile: '/nonexistent/ca.pem' }, 'ca_file'],
      [{ clientId: 'x', clientSecret: 12345 }, 'client_secret'],
      [{ clientId: 'x', clientSecret: 'y', colour: 'blue' }, 'colour'],
      [{ clientId: 'x', clientSecret: 'y', options: { max_attempts: 'many' } }, 'max_attempts'],
    ]
    for (const [options, field] of cases) {
      let error
      try {
        new Client(options)
      } catch (e) {
        error = e
      }
      assert.ok(error instanceof ConfigError, `${field}: ${error}`)
      assert.equal(error.code, 'config')
      assert.equal(error.field, field)
    }
    assert.throws(() => new Client({ clientId: 'x', clientSecret: 'y', options: { nonsense: '1' } }), ConfigError)
  })

  test('bad call arguments are config errors; async ones reject', async () => {
    const client = new Client(server.devClientOptions())
    await assert.rejects(client.request({ path: '/v1/models', timeout: -1 }), ConfigError)
    await assert.rejects(client.request({ path: 42 }), ConfigError)
    await assert.rejects(client.getToken({ scopes: [1] }), ConfigError)
    await assert.rejects(client.request({ path: 'https://elsewhere.example/v1/models' }), (e) => e.code === 'config' && e.field === 'url')
    assert.throws(() => client.setApiKey(''), ConfigError)
  })

  test('every core code has a class; the list matches the native module', () => {
    assert.deepEqual([...ERROR_CODES], native.errorCodes())
    for (const code of ERROR_CODES) {
      const cls = errorClassFor(code)
      assert.notEqual(cls, SynapseAuthError)
      assert.equal(cls.code, code)
      assert.equal(new cls('m').code, code)
    }
    assert.ok(CONFIG_KEYS.includes('client_secret'))
  })
})

describe('no secret in inspect, JSON or messages', () => {
  const SECRET = 'super-secret-value-123'

  test('client and token', async () => {
    const client = new Client(server.devClientOptions())
    const realSecret = server.secretOf('synapse-dev-client')
    const token = await client.getToken()
    for (const shown of [util.inspect(client), JSON.stringify(client), String(client), util.format('%o', client)]) {
      assert.ok(!shown.includes(realSecret), shown)
    }
    assert.match(util.inspect(client), /synapse-dev-client/)
    for (const shown of [
      util.inspect(token),
      util.inspect({ nested: [token] }, { depth: 5 }),
      JSON.stringify(token),
      JSON.stringify({ token }),
      String(token),
      `${token}`,
      util.format('%o', token),
      util.format('%j', token),
    ]) {
      assert.ok(!shown.includes(token.token), shown)
    }
    assert.match(util.inspect(token), /\*\*\*/)
    assert.equal(JSON.parse(JSON.stringify(token)).token, '***')
    assert.ok(!Object.keys(token).includes('token'), 'the value is not an own enumerable property')
    assert.ok(!JSON.stringify({ ...token }).includes(token.token))

    const keyed = new Client(server.clientOptions({ apiKey: API_KEY }))
    assert.ok(!util.inspect(keyed).includes(API_KEY))
    assert.ok(!JSON.stringify(keyed).includes(API_KEY))
  })

  test('errors', async () => {
    const errors = []
    const bad = new Client(server.devClientOptions({ clientSecret: SECRET }))
    errors.push(await bad.getToken().catch((e) => e))
    const badKey = new Client(server.clientOptions({ apiKey: 'sk_live_' + SECRET }))
    errors.push(await badKey.request({ path: '/v1/models' }).catch((e) => e))
    for (const options of [
      { clientId: 'x', clientSecret: 7777777777 },
      { clientId: 'x', clientSecret: SECRET, baseUrl: 'ftp://' + SECRET },
      { clientId: 'x', clientSecret: [SECRET] },
    ]) {
      try {
        new Client(options)
      } catch (e) {
        errors.push(e)
      }
    }
    const ok = new Client(server.devClientOptions())
    errors.push(await ok.verify(SECRET).catch((e) => e))
    assert.ok(errors.length >= 6)
    for (const e of errors) {
      assert.ok(e instanceof SynapseAuthError, String(e))
      for (const shown of [e.message, e.stack, util.inspect(e), JSON.stringify(e)]) {
        assert.ok(!shown.includes(SECRET) && !shown.includes('7777777777'), shown)
      }
    }
  })
})
