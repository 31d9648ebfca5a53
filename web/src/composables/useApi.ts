/** The REST client of the signed-in session (reads the current token on every call). */
import { createApiClient, type ApiClient } from '@/api/http'
import { session } from '@/session'

let client: ApiClient | undefined

export function useApi(): ApiClient {
  client ??= createApiClient({ token: () => session.token })
  return client
}
