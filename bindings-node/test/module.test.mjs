// The package loads from CommonJS and from ESM (one module instance), and its
// hand-written types declare exactly what it exports.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { test } from 'node:test'
import * as esm from 'synapsestream-auth'
import { PACKAGE_DIR, runNode } from './harness.mjs'

const require = createRequire(import.meta.url)

test('require() and import give the same module', () => {
  const cjs = require('synapsestream-auth')
  assert.equal(esm.default, cjs)
  const named = Object.keys(esm).filter((k) => k !== 'default').sort()
  assert.deepEqual(named, Object.keys(cjs).sort())
  for (const name of named) assert.equal(esm[name], cjs[name], name)
  assert.equal(typeof cjs.Client, 'function')
})

test('a fresh CommonJS process can require the package', async () => {
  const script = `const a = require('synapsestream-auth'); const c = new a.Client({ apiKey: 'sk_live_x' });
    if (c.authMethod !== 'api_key' || a.ERROR_CODES.length !== 10) process.exit(2); console.log('cjs ok')`
  const { code, stdout, stderr } = await runNode(['-e', script])
  assert.equal(code, 0, stderr)
  assert.match(stdout, /cjs ok/)
})

test('a fresh ES module process can import the package', async () => {
  const script = `import { Client, SynapseAuthError } from 'synapsestream-auth'
    import def from 'synapsestream-auth'
    if (def.Client !== Client) process.exit(2)
    try { new Client({ clientId: 'x' }) } catch (e) { if (!(e instanceof SynapseAuthError)) process.exit(3) }
    console.log('esm ok')`
  const { code, stdout, stderr } = await runNode(['--input-type=module', '-e', script])
  assert.equal(code, 0, stderr)
  assert.match(stdout, /esm ok/)
})

test('index.d.ts declares every runtime export and nothing more', () => {
  const dts = readFileSync(path.join(PACKAGE_DIR, 'index.d.ts'), 'utf8')
  const declared = [...dts.matchAll(/^export declare (?:class|function|const) (\w+)/gm)].map((m) => m[1]).sort()
  assert.deepEqual(declared, Object.keys(require('synapsestream-auth')).sort())
})

test('package.json names the package and its binary as required', () => {
  const pkg = JSON.parse(readFileSync(path.join(PACKAGE_DIR, 'package.json'), 'utf8'))
  assert.equal(pkg.name, 'synapsestream-auth')
  assert.equal(pkg.napi.binaryName, 'synapse-auth')
  assert.deepEqual(pkg.napi.targets, ['x86_64-unknown-linux-gnu'])
  assert.deepEqual(pkg.exports['.'], { types: './index.d.ts', import: './index.mjs', require: './index.js' })
})
