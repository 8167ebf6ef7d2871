// examples/errors.mjs
import { Client, InvalidCredentialsError, RateLimitedError, SynapseAuthError } from 'synapsestream-auth'

const client = Client.fromEnv({ clientSecret: 'not-the-right-secret' })
try {
  await client.getToken()
} catch (error) {
  if (error instanceof InvalidCredentialsError) {
    console.log(`rejected: code=${error.code} status=${error.status}`)
  } else if (error instanceof RateLimitedError) {
    console.log(`slow down: retry in ${error.retryAfter} s`)
  } else if (error instanceof SynapseAuthError) {
    console.log(`failed: ${error.code}: ${error.message}`)
  } else {
    throw error
  }
}

try {
  Client.fromEnv({ timeout: -5 })
} catch (error) {
  console.log(`bad setting: code=${error.code} field=${error.field}`)
}
