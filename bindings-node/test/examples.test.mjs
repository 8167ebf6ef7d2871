// Every example under examples/ runs as a child process against the reference
// server (the TypeScript one after stripping its types), and the README shows
// each of them exactly as the file has it.
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { after, before, beforeEach, test } from 'node:test'
import { PACKAGE_DIR, runNode, startServer } from './harness.mjs'

const EXAMPLES = path.join(PACKAGE_DIR, 'examples')
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

async function runExample(file, extraEnv = {}) {
  const { code, stdout, stderr } = await runNode([file], { env: { ...server.exampleEnv(), ...extraEnv } })
  assert.equal(code, 0, `${file} failed:\n${stdout}\n${stderr}`)
  return stdout
}

test('examples/quickstart.mjs', async () => {
  const out = await runExample('examples/quickstart.mjs')
  assert.match(out, /token for inference training/)
  assert.match(out, /token: '\*\*\*'/)
  assert.match(out, /^200 /m)
  assert.match(out, /^202 /m)
  assert.ok(!out.includes(server.secretOf('synapse-dev-client')))
})

test('examples/quickstart.cjs', async () => {
  const out = await runExample('examples/quickstart.cjs')
  assert.match(out, /same object: true/)
  assert.match(out, /verified subject synapse-dev-client/)
})

test('examples/errors.mjs', async () => {
  const out = await runExample('examples/errors.mjs')
  assert.match(out, /rejected: code=invalid_credentials status=401/)
  assert.match(out, /bad setting: code=config field=timeout/)
})

test('examples/auth_fetch.mjs', async () => {
  const out = await runExample('examples/auth_fetch.mjs', { NODE_EXTRA_CA_CERTS: server.caFile })
  assert.match(out, /^200 /m)
  assert.match(out, /^202 /m)
})

test('examples/example.ts (types stripped by the TypeScript compiler)', async () => {
  const ts = createRequire(import.meta.url)('typescript')
  const source = readFileSync(path.join(EXAMPLES, 'example.ts'), 'utf8')
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
  })
  // Inside the package, so `require('synapsestream-auth')` resolves to it.
  const dir = path.join(PACKAGE_DIR, 'test', '.tmp')
  mkdirSync(dir, { recursive: true })
  writeFileSync(path.join(dir, 'example.cjs'), outputText)
  const out = await runExample(path.join(dir, 'example.cjs'))
  assert.match(out, /Bearer token, 2 scopes/)
  assert.match(out, /^200 true/m)
  assert.match(out, /sub synapse-dev-client/)
  assert.match(out, /error api 400/)
  assert.match(out, /token requests 1 circuit closed/)
})

test('the README shows every example exactly as its file', () => {
  const readme = readFileSync(path.join(PACKAGE_DIR, 'README.md'), 'utf8')
  const blocks = new Map()
  for (const [, body] of readme.matchAll(/```(?:js|javascript|ts|typescript)\n([\s\S]*?)```/g)) {
    const first = body.split('\n', 1)[0].match(/^\/\/ (examples\/\S+)$/)
    if (first) blocks.set(first[1], body)
  }
  const files = readdirSync(EXAMPLES).filter((f) => /\.(mjs|cjs|js|ts)$/.test(f))
  assert.ok(files.length >= 5)
  for (const file of files) {
    const name = `examples/${file}`
    assert.ok(blocks.has(name), `README lacks ${name}`)
    assert.equal(blocks.get(name), readFileSync(path.join(EXAMPLES, file), 'utf8'), `README copy of ${name} differs`)
  }
})
