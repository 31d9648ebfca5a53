/** The team endpoints (`api/team.ts`) on the signed-in session's REST client. */
import { teamApi, type TeamApi } from '@/api/team'
import { useApi } from './useApi'

let client: TeamApi | undefined

export function useTeamApi(): TeamApi {
  client ??= teamApi(useApi())
  return client
}
