/**
 * 服务器设置 (admins): the settings (`/api/admin/settings`), edited as a
 * form (sizes in MB, 1 MB = 1,000,000 bytes as the command line counts
 * them) and saved as a patch of what changed; the live figures
 * (`/api/admin/stats`); and running the retention job now.
 */
import { computed, reactive, ref } from 'vue'
import type { Registration, RoomCreation, ServerSettings, ServerStats, SettingsPatch, TeamApi } from '@/api/team'
import { useTeamApi } from './useTeamApi'

export const MB = 1_000_000
/** The server's bounds of the upload limit. */
export const MIN_FILE_BYTES = 1024
export const MAX_FILE_BYTES = 2 * 1024 * 1024 * 1024

export interface SettingsForm {
  teamName: string
  registration: Registration
  membersInvite: boolean
  roomCreation: RoomCreation
  /** Upload limit, MB. */
  maxFileMb: number
  /** Daily quota, MB; 0: no limit. */
  quotaMb: number
  keepForever: boolean
  retentionDays: number
}

/** MB shown for bytes (two decimals at most). */
export function toMb(bytes: number): number {
  return Math.round((bytes / MB) * 100) / 100
}

export function formOf(settings: ServerSettings): SettingsForm {
  return {
    teamName: settings.team_name,
    registration: settings.registration,
    membersInvite: settings.members_invite,
    roomCreation: settings.room_creation,
    maxFileMb: toMb(settings.max_file_bytes),
    quotaMb: toMb(settings.upload_quota_bytes),
    keepForever: settings.retention_days === 0,
    retentionDays: settings.retention_days === 0 ? 365 : settings.retention_days,
  }
}

/** The fields of `form` that differ from `settings`. */
export function patchOf(form: SettingsForm, settings: ServerSettings): SettingsPatch {
  const patch: SettingsPatch = {}
  const teamName = form.teamName.trim()
  if (teamName !== settings.team_name) patch.team_name = teamName
  if (form.registration !== settings.registration) patch.registration = form.registration
  if (form.membersInvite !== settings.members_invite) patch.members_invite = form.membersInvite
  if (form.roomCreation !== settings.room_creation) patch.room_creation = form.roomCreation
  // Unchanged MB figures keep the exact bytes (a limit of 1 GiB is not 1073.74 MB).
  if (form.maxFileMb !== toMb(settings.max_file_bytes)) {
    patch.max_file_bytes = Math.min(MAX_FILE_BYTES, Math.max(MIN_FILE_BYTES, Math.round(form.maxFileMb * MB)))
  }
  if (form.quotaMb !== toMb(settings.upload_quota_bytes)) patch.upload_quota_bytes = Math.max(0, Math.round(form.quotaMb * MB))
  const days = form.keepForever ? 0 : Math.max(1, Math.round(form.retentionDays))
  if (days !== settings.retention_days) patch.retention_days = days
  return patch
}

export function useServerSettings(api: TeamApi = useTeamApi()) {
  const settings = ref<ServerSettings | null>(null)
  const form = reactive<SettingsForm>({
    teamName: '',
    registration: 'invite',
    membersInvite: false,
    roomCreation: 'everyone',
    maxFileMb: 25,
    quotaMb: 0,
    keepForever: true,
    retentionDays: 365,
  })
  const stats = ref<ServerStats | null>(null)
  const error = ref<unknown>(null)
  const changed = computed(() => settings.value !== null && Object.keys(patchOf(form, settings.value)).length > 0)

  function show(next: ServerSettings): void {
    settings.value = next
    Object.assign(form, formOf(next))
  }

  async function load(): Promise<void> {
    error.value = null
    try {
      show(await api.settings())
    } catch (e) {
      error.value = e
    }
  }

  async function loadStats(): Promise<void> {
    try {
      stats.value = await api.stats()
    } catch {
      // The figures are a bonus: the form works without them.
    }
  }

  /** Saves what changed (rejects like the REST call); answers the settings now in force. */
  async function save(): Promise<ServerSettings | null> {
    if (!settings.value) return null
    const patch = patchOf(form, settings.value)
    if (Object.keys(patch).length === 0) return settings.value
    const next = await api.updateSettings(patch)
    show(next)
    return next
  }

  /** Runs the retention job now; answers how many messages it deleted. */
  async function runRetention(): Promise<number> {
    const { deleted } = await api.runRetention()
    void loadStats()
    return deleted
  }

  return { settings, form, stats, error, changed, load, loadStats, save, runRetention }
}
