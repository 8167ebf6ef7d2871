// Node.js rows of the benchmark suite (run by bench/run.sh; see bench/README.md).
//
//   NODE_EXTRA_CA_CERTS=<both servers' CAs> node bench.mjs --rs SERVER_JSON --es SERVER_JSON [--only a,b] [--quick]
//
// Prints one JSON line per result, prefixed with "@@ ". Peers: Map.get + Date.now()
// (cached token), node:crypto.verify, fast-jwt and jose (verify), the global fetch
// with a static Authorization header (authFetch).
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import crypto from 'node:crypto'
import https from 'node:https'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { createVerifier } from 'fast-jwt'
import * as jose from 'jose'

const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)
const { Client, authFetch } = require(path.join(here, '..', '..', 'bindings-node', 'index.js'))
// For a diagnostic only: the native hit-path function the wrapper calls.
const native = require(path.join(here, '..', '..', 'bindings-node', 'native.js'))

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]?.startsWith('--') ? true : all[i + 1] ?? true]] : acc), []),
)
const QUICK = Boolean(args.quick)
const emit = (id, fields) => console.log('@@ ' + JSON.stringify({ ...fields, id }))
const note = (msg) => console.error(`[node] ${msg}`)
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const n = s.length
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
}
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length, Math.max(1, Math.ceil(p * s.length))) - 1]
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const nowNs = () => performance.now() * 1e6

// ------------------------------------------------------------------ measurement

async function perCallNs(f, n, isAsync) {
  const t0 = nowNs()
  if (isAsync) for (let i = 0; i < n; i++) await f()
  else for (let i = 0; i < n; i++) f()
  return (nowNs() - t0) / n
}

async function calibrate(f, isAsync, batchMs = 20) {
  let n = 1
  for (;;) {
    const t0 = performance.now()
    await perCallNs(f, n, isAsync)
    const dt = performance.now() - t0
    if (dt > batchMs / 4 || n > 1e7) return Math.max(1, Math.floor((batchMs / dt) * n))
    n *= 4
  }
}

// fns: { name: [fn, isAsync] }. Batches in rotating order; medians and ratios to the first.
async function paired(fns, rounds = 15) {
  if (QUICK) rounds = Math.max(3, Math.floor(rounds / 3))
  const names = Object.keys(fns)
  const counts = {}
  for (const k of names) counts[k] = await calibrate(...fns[k])
  const per = Object.fromEntries(names.map((k) => [k, []]))
  const ratios = Object.fromEntries(names.map((k) => [k, []]))
  for (let r = 0; r < rounds; r++) {
    const order = [...names.slice(r % names.length), ...names.slice(0, r % names.length)]
    const got = {}
    for (const k of order) got[k] = await perCallNs(fns[k][0], counts[k], fns[k][1])
    for (const k of names) {
      per[k].push(got[k])
      ratios[k].push(got[k] / got[names[0]])
    }
  }
  return {
    ns: Object.fromEntries(names.map((k) => [k, median(per[k])])),
    ratio: Object.fromEntries(names.map((k) => [k, median(ratios[k])])),
    rounds,
  }
}

// ------------------------------------------------------------------ servers

class Server {
  constructor(file) {
    this.info = JSON.parse(readFileSync(file, 'utf8').split('\n')[0])
    this.baseUrl = this.info.base_url
    this.ca = readFileSync(this.info.ca_pem_path)
    this.agent = new https.Agent({ ca: this.ca, keepAlive: true })
    const dev = this.info.clients[0]
    this.clientId = dev.client_id
    this.clientSecret = dev.client_secret
    this.issuer = this.info.issuer || this.baseUrl
    this.audience = this.info.audience || 'https://api.synapsestream.io'
  }

  admin(method, p, body) {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body)
      const req = https.request(
        new URL(p, this.baseUrl),
        {
          method,
          agent: this.agent,
          headers: { 'x-admin-token': this.info.admin_token, ...(data ? { 'content-type': 'application/json' } : {}) },
        },
        (res) => {
          let text = ''
          res.on('data', (c) => (text += c))
          res.on('end', () => (res.statusCode < 300 ? resolve(JSON.parse(text)) : reject(new Error(`${p}: ${res.statusCode} ${text}`))))
        },
      )
      req.on('error', reject)
      req.end(data)
    })
  }
  reset() {
    return this.admin('POST', '/admin/reset')
  }
  async tokenRequests() {
    return (await this.admin('GET', '/admin/counters')).token_requests.total
  }
  async tokenLatency(ms) {
    await this.admin('DELETE', '/admin/faults')
    if (ms) await this.admin('POST', '/admin/faults', { target: 'token', latency_ms: ms })
  }
  tokenTtl(secs) {
    return this.admin('POST', '/admin/config', { token_ttl_secs: secs })
  }
  client(options = {}) {
    return new Client({
      clientId: this.clientId,
      clientSecret: this.clientSecret,
      scopes: ['inference', 'training'],
      baseUrl: this.baseUrl,
      caFile: this.info.ca_pem_path,
      ...options,
    })
  }
}

// ------------------------------------------------------------------ sections

async function benchCached(rs) {
  const client = rs.client()
  const token = await client.getToken()
  const map = new Map([['inference training', { token: token.token, expiresAt: Date.now() + 3_000_000 }]])
  const key = 'inference training'
  const mapGet = () => {
    const e = map.get(key)
    return e !== undefined && e.expiresAt > Date.now() ? e.token : null
  }
  // The slot of this client (the only one alive yet) for the native hit-path call.
  let slot = 0
  while (slot < 64 && typeof native.cachedTokenId === 'function' && native.cachedTokenId(slot) == null) slot++
  const fns = {
    ours: [() => client.getToken(), false],
    map: [mapGet, false],
    current: [() => client.currentToken(), false],
  }
  if (typeof native.cachedTokenId === 'function' && slot < 64) fns.nativeCall = [() => native.cachedTokenId(slot), false]
  const res = await paired(fns)
  emit('node_cached_vs_map', {
    ours_ns: res.ns.ours,
    peer_ns: res.ns.map,
    ratio: 1 / res.ratio.map,
    rounds: res.rounds,
    diag_native_cachedTokenId_call_ns: res.ns.nativeCall,
  })
  emit('node_current_token_vs_map', {
    ours_ns: res.ns.current,
    peer_ns: res.ns.map,
    ratio: res.ns.current / res.ns.map,
    rounds: res.rounds,
  })
  // The awaited forms, as code writes them: `await client.getToken()` vs an awaited lookup.
  const res2 = await paired({ ours: [() => client.getToken(), true], map: [async () => mapGet(), true] })
  emit('node_cached_awaited_vs_map', { ours_ns: res2.ns.ours, peer_ns: res2.ns.map, ratio: 1 / res2.ratio.map, rounds: res2.rounds })
}

async function jwkFor(server, token) {
  const header = JSON.parse(Buffer.from(token.split('.')[0], 'base64url'))
  const res = await fetch(server.baseUrl + '/.well-known/jwks.json')
  const jwks = await res.json()
  return jwks.keys.find((k) => k.kid === header.kid)
}

async function benchVerify(server, alg) {
  const client = server.client({ options: { jwt_issuer: server.issuer, jwt_audience: server.audience, jwt_algorithms: alg } })
  const token = (await client.getToken()).token
  const claims = await client.verify(token)
  if (claims.sub !== server.clientId) throw new Error(`unexpected sub ${claims.sub}`)
  const jwk = await jwkFor(server, token)
  const keyObject = crypto.createPublicKey({ key: jwk, format: 'jwk' })
  const i = token.lastIndexOf('.')
  const input = Buffer.from(token.slice(0, i))
  const sig = Buffer.from(token.slice(i + 1), 'base64url')
  const key = alg === 'ES256' ? { key: keyObject, dsaEncoding: 'ieee-p1363' } : keyObject
  const raw = () => {
    if (!crypto.verify('sha256', input, key, sig)) throw new Error('bad signature')
  }
  const pem = keyObject.export({ type: 'spki', format: 'pem' })
  const fast = createVerifier({ key: pem, algorithms: [alg], allowedIss: server.issuer, allowedAud: server.audience, cache: false })
  const joseKey = await jose.importJWK(jwk, alg)
  const withJose = () => jose.jwtVerify(token, joseKey, { issuer: server.issuer, audience: server.audience, algorithms: [alg] })
  raw()
  fast(token)
  await withJose()
  // Diagnostic: getToken({scopes}) on a cached token is only the trip to the
  // core's runtime and back (a native Promise settled from another thread).
  const scopes = { scopes: ['inference', 'training'] }
  const res = await paired({
    ours: [() => client.verify(token), true],
    crypto: [raw, false],
    fastjwt: [() => fast(token), false],
    jose: [withJose, true],
    hop: [() => client.getToken(scopes), true],
  })
  const a = alg.toLowerCase()
  emit(`node_verify_${a}_vs_crypto`, {
    ours_ns: res.ns.ours,
    peer_ns: res.ns.crypto,
    ratio: 1 / res.ratio.crypto,
    rounds: res.rounds,
    diag_runtime_round_trip_ns: res.ns.hop,
  })
  for (const peer of ['fastjwt', 'jose']) {
    emit(`node_verify_${a}_vs_${peer}`, { ours_ns: res.ns.ours, peer_ns: res.ns[peer], ratio: res.ratio[peer], rounds: res.rounds })
  }
  // Throughput with 64 verifications in flight (they run on the core's threads).
  const n = QUICK ? 500 : 2000
  const t0 = nowNs()
  for (let k = 0; k < n; k += 64) await Promise.all(Array.from({ length: 64 }, () => client.verify(token)))
  const oursPar = (nowNs() - t0) / n
  emit(`node_verify_${a}_concurrent64`, { ours_ns: oursPar, peer_ns: res.ns.crypto, ratio: oursPar / res.ns.crypto })
}

async function benchFetch(rs) {
  const client = rs.client()
  const header = `Bearer ${(await client.getToken()).token}`
  const url = rs.baseUrl + '/v1/models'

  // 1) No network: a fetch stand-in that does what fetch does first (new Request(input, init))
  // and answers at once; the difference is what authFetch adds per call.
  const canned = { status: 200, ok: true }
  const fakeFetch = (input, init) => {
    const req = new Request(input, init)
    return Promise.resolve(req.headers.get('authorization') ? canned : null)
  }
  const apiFake = authFetch(client, { fetch: fakeFetch })
  const staticInit = { headers: { authorization: header } }
  const res = await paired(
    {
      ours: [() => apiFake(url), true],
      bare: [() => fakeFetch(url, staticInit), true],
      request: [() => new Request(url, staticInit), false],
    },
    21,
  )
  emit('node_fetch_overhead_nonet', {
    ours_ns: res.ns.ours,
    peer_ns: res.ns.bare,
    overhead_us: (res.ns.ours - res.ns.bare) / 1000,
    ratio: 1 / res.ratio.bare,
    rounds: res.rounds,
    diag_new_Request_ns: res.ns.request,
  })

  // 2) Loopback HTTPS (undici, keep-alive), one request of each in turn.
  const apiFetch = authFetch(client)
  const ours = async () => {
    const r = await apiFetch(url)
    await r.arrayBuffer()
    if (r.status !== 200) throw new Error(`status ${r.status}`)
  }
  const bare = async () => {
    const r = await fetch(url, staticInit)
    await r.arrayBuffer()
    if (r.status !== 200) throw new Error(`status ${r.status}`)
  }
  for (let k = 0; k < 30; k++) {
    await ours()
    await bare()
  }
  const rounds = QUICK ? 5 : 15
  const diffs = []
  const ratios = []
  const oa = []
  const pa = []
  for (let r = 0; r < rounds; r++) {
    const a = []
    const b = []
    for (let k = 0; k < 100; k++) {
      for (const side of k % 2 ? [1, 0] : [0, 1]) {
        const t0 = nowNs()
        await (side === 0 ? ours() : bare())
        ;(side === 0 ? a : b).push(nowNs() - t0)
      }
    }
    const ma = median(a)
    const mb = median(b)
    diffs.push((ma - mb) / 1000)
    ratios.push(ma / mb)
    oa.push(ma)
    pa.push(mb)
  }
  emit('node_fetch_overhead_loopback', {
    ours_ns: median(oa),
    peer_ns: median(pa),
    overhead_us: median(diffs),
    iqr_us: [pct(diffs, 0.25), pct(diffs, 0.75)],
    ratio: median(ratios),
    rounds,
  })
}

async function stampede(rs, phase, callers = 1000) {
  await rs.reset()
  await rs.tokenLatency(0)
  if (phase === 'expiry') await rs.tokenTtl(3)
  const client = rs.client()
  if (phase === 'expiry') {
    const t = await client.getToken()
    await sleep(Math.max(0, t.expiresAt.getTime() - Date.now()) + 30)
    if (client.currentToken() !== null) throw new Error('token still cached after expiry')
  }
  await rs.tokenLatency(50)
  const before = await rs.tokenRequests()
  let failed = 0
  const lat = await Promise.all(
    Array.from({ length: callers }, async () => {
      const t0 = performance.now()
      try {
        await client.getToken()
      } catch {
        failed++
      }
      return performance.now() - t0
    }),
  )
  const sent = (await rs.tokenRequests()) - before
  await rs.tokenLatency(0)
  await rs.tokenTtl(3600)
  emit(`node_stampede_${phase}`, { callers, token_requests: sent, failed, p50_ms: pct(lat, 0.5), p99_ms: pct(lat, 0.99), max_ms: Math.max(...lat) })
}

async function refreshWindow(rs) {
  await rs.reset()
  await rs.tokenTtl(4)
  await rs.tokenLatency(50)
  const client = rs.client()
  const first = await client.getToken()
  const issued = performance.now()
  const expiresInMs = first.expiresAt.getTime() - Date.now()
  // One JS thread calls getToken() back to back; 1 ns buckets up to 1 ms.
  const measure = (untilMs) => {
    const h = new Uint32Array(1_000_000)
    const over = []
    let n = 0
    let max = 0
    while (performance.now() < untilMs) {
      for (let k = 0; k < 1000; k++) {
        const t0 = performance.now()
        client.getToken()
        const ns = Math.round((performance.now() - t0) * 1e6)
        if (ns < h.length) h[ns]++
        else over.push(ns)
        if (ns > max) max = ns
        n++
      }
    }
    const q = (p) => {
      const rank = Math.max(1, Math.ceil(p * n))
      let seen = 0
      for (let i = 0; i < h.length; i++) {
        seen += h[i]
        if (seen >= rank) return i
      }
      return over.sort((a, b) => a - b)[rank - seen - 1] ?? max
    }
    return { n, p50: q(0.5), p99: q(0.99), max, over1ms: over.length }
  }
  const steady = measure(issued + 1000)
  const s0 = client.stats()
  const r0 = await rs.tokenRequests()
  await sleep(Math.max(0, issued + 1200 - performance.now()))
  const win = measure(issued + expiresInMs + 300)
  const s1 = client.stats()
  const sent = (await rs.tokenRequests()) - r0
  const last = await client.getToken()
  await rs.tokenLatency(0)
  await rs.tokenTtl(3600)
  emit('node_refresh_window', {
    steady_calls: steady.n,
    window_calls: win.n,
    steady_p50_ns: steady.p50,
    steady_p99_ns: steady.p99,
    steady_max_ns: steady.max,
    window_p50_ns: win.p50,
    window_p99_ns: win.p99,
    window_max_ns: win.max,
    steady_calls_over_1ms: steady.over1ms,
    window_calls_over_1ms: win.over1ms,
    cache_misses: s1.cacheMisses - s0.cacheMisses,
    background_refreshes: s1.backgroundRefreshes - s0.backgroundRefreshes,
    token_replaced: last !== first,
    token_requests: sent,
  })
}

const rs = new Server(args.rs)
const es = new Server(args.es)
const only = new Set(String(args.only ?? 'cached,verify,fetch,stampede,refresh').split(','))
const sections = [
  ['cached', () => benchCached(rs)],
  ['verify', async () => {
    await benchVerify(rs, 'RS256')
    await benchVerify(es, 'ES256')
  }],
  ['fetch', () => benchFetch(rs)],
  ['stampede', async () => {
    await stampede(rs, 'cold')
    await stampede(rs, 'expiry')
  }],
  ['refresh', () => refreshWindow(rs)],
]
for (const [name, fn] of sections) {
  if (!only.has(name)) continue
  const t0 = performance.now()
  await fn()
  note(`${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`)
}
const pkg = (p) => JSON.parse(readFileSync(path.join(here, 'node_modules', p, 'package.json'), 'utf8')).version
emit('node_versions', { node: process.versions.node, 'fast-jwt': pkg('fast-jwt'), jose: pkg('jose') })
process.exit(0)
