// examples/quickstart.cjs
const { Client } = require('synapsestream-auth')

async function main() {
  const client = new Client({
    clientId: process.env.SYNAPSE_CLIENT_ID,
    clientSecret: process.env.SYNAPSE_CLIENT_SECRET,
    scopes: ['inference', 'training'],
    baseUrl: process.env.SYNAPSE_BASE_URL, // default https://api.synapsestream.io
    caFile: process.env.SYNAPSE_CA_FILE, // only for a private CA
    timeout: 10, // seconds per HTTP exchange
    options: { max_attempts: '3' }, // any core configuration key
  })
  const token = await client.getToken()
  console.log('token type', token.tokenType, 'expires in', Math.round(token.expiresIn), 's')

  // A hit is synchronous too: the same Token object, or null when none is valid.
  console.log('same object:', client.currentToken() === token)

  const claims = await client.verify(token.token)
  console.log('verified subject', claims.sub)
  console.log(JSON.stringify(client.stats()))
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
