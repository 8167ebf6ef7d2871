// Test harness: starts the reference server (`synapse-auth serve --json`) once
// per test file, and talks to its admin API.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import https from 'node:https'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const REPO_DIR = path.resolve(PACKAGE_DIR, '..')

export function serverBinary() {
  return process.env.SYNAPSE_AUTH_BIN || path.join(REPO_DIR, 'target', 'debug', 'synapse-auth')
}

/** The shared scenarios, read from the one file every language runs. */
export function loadScenarios() {
  return JSON.parse(readFileSync(path.join(REPO_DIR, 'tests', 'scenarios', 'scenarios.json'), 'utf8'))
}

export class Server {
  constructor(child, info) {
    this.child = child
    this.info = info
    this.baseUrl = info.base_url
    this.caFile = info.ca_pem_path
    this.ca = readFileSync(info.ca_pem_path)
  }

  /** The secret the server printed for `clientId`. */
  secretOf(clientId) {
    const client = this.info.clients.find((c) => c.client_id === clientId)
    if (!client) throw new Error(`the server has no client ${clientId}`)
    return client.client_secret
  }

  /** Options for a client of this server (base URL and CA set). */
  clientOptions(extra = {}) {
    return { baseUrl: this.baseUrl, caFile: this.caFile, ...extra }
  }

  /** `synapse-dev-client` options with its real secret. */
  devClientOptions(extra = {}) {
    return this.clientOptions({
      clientId: 'synapse-dev-client',
      clientSecret: this.secretOf('synapse-dev-client'),
      scopes: ['inference', 'training'],
      ...extra,
    })
  }

  /** Environment variables the examples read. */
  exampleEnv(clientId = 'synapse-dev-client') {
    return {
      SYNAPSE_BASE_URL: this.baseUrl,
      SYNAPSE_CA_FILE: this.caFile,
      SYNAPSE_CLIENT_ID: clientId,
      SYNAPSE_CLIENT_SECRET: this.secretOf(clientId),
      SYNAPSE_SCOPES: 'inference training',
    }
  }

  /** An admin API call; resolves with the parsed JSON answer. */
  admin(method, urlPath, body = undefined) {
    const url = new URL(urlPath, this.baseUrl)
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    return new Promise((resolve, reject) => {
      const req = https.request(
        url,
        {
          method,
          ca: this.ca,
          headers: {
            'x-admin-token': this.info.admin_token,
            ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          },
        },
        (res) => {
          const chunks = []
          res.on('data', (c) => chunks.push(c))
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            if (res.statusCode >= 400) {
              reject(new Error(`admin ${method} ${urlPath}: HTTP ${res.statusCode} ${text}`))
              return
            }
            try {
              resolve(text ? JSON.parse(text) : null)
            } catch (e) {
              reject(e)
            }
          })
        },
      )
      req.on('error', reject)
      req.end(payload)
    })
  }

  /** Counters reset, faults cleared, token lifetime set. */
  async reset(tokenTtlSecs = 3600) {
    await this.admin('POST', '/admin/reset')
    await this.admin('POST', '/admin/config', { token_ttl_secs: tokenTtlSecs })
  }

  async counters() {
    return this.admin('GET', '/admin/counters')
  }

  async stop() {
    if (this.child.exitCode !== null) return
    const exited = new Promise((resolve) => this.child.once('exit', resolve))
    this.child.stdin.end()
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }
}

/** Starts the reference server and waits for its JSON line. */
export async function startServer() {
  const child = spawn(serverBinary(), ['serve', '--json', '--addr', '127.0.0.1:0', '--exit-on-stdin-close'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-8192)
  })
  const lines = createInterface({ input: child.stdout })
  const line = await new Promise((resolve, reject) => {
    lines.once('line', resolve)
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`the reference server exited (${code}): ${stderr}`)))
  })
  lines.close()
  child.stdout.resume()
  return new Server(child, JSON.parse(line))
}

/** Runs `node` with `args`; resolves with {code, stdout, stderr}. */
export function runNode(args, { env = {}, cwd = PACKAGE_DIR, timeoutMs = 60000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code: code ?? signal, stdout, stderr })
    })
  })
}
