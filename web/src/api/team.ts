/**
 * Running a team (PROTOCOL.md §7): the first-run setup, invitation and
 * one-time password links, one's profile, password and sessions, the people
 * directory, and the admins' endpoints (`/api/admin/*`). Times are Unix
 * epoch milliseconds. Every call goes through the REST client of `http.ts`
 * (its errors are `ApiError` / `NetworkError`).
 */
import type { ApiClient } from './http'
import type { AuthResponse } from './types'

/** Who may create an account: anyone, people with an invitation link, or only admins (accounts they create). */
export type Registration = 'open' | 'invite' | 'closed'
/** Who may create rooms. */
export type RoomCreation = 'everyone' | 'admins'

/** Someone of the team, as the directory and `/api/me` give them. */
export interface Person {
  id: number
  username: string
  /** Shown name; `""`: the username. */
  display_name: string
  /** Status line (up to 140 characters). */
  status: string
  /** The avatar's version (ms); null: none (the generated one is shown). */
  avatar_at: number | null
  is_admin: boolean
  deactivated: boolean
}

export interface PersonList {
  people: Person[]
}

/** One signed-in device of the account (`GET /api/me/sessions`). */
export interface AccountSession {
  id: string
  created_at: number
  last_seen_at: number
  /** The browser's user agent. */
  agent: string
  ip: string
  /** The session asking. */
  current: boolean
}

export type InviteState = 'active' | 'expired' | 'used_up' | 'revoked'

export interface Invite {
  id: number
  /** Who made it (username). */
  created_by: string
  created_at: number
  expires_at: number
  max_uses: number
  uses: number
  state: InviteState
  /** The link's secret: only in the answer that created it. */
  token?: string
}

/** `POST /api/invites`: the invitation and the app path of its link (`/#/invite/<secret>`). */
export interface CreatedInvite {
  invite: Invite
  path: string
}

/** `GET /api/auth/invite/{secret}`. */
export interface InviteInfo {
  team_name: string
  invited_by: string
  expires_at: number
}

/** `GET /api/auth/password-link/{secret}`. */
export interface PasswordLinkInfo {
  username: string
  expires_at: number
  team_name: string
}

/** An account as admins list them. */
export interface AdminUser {
  id: number
  username: string
  display_name: string
  is_admin: boolean
  created_at: number
  deactivated_at: number | null
  last_seen_at: number | null
}

export interface AdminRoom {
  id: number
  name: string
  kind: 'open' | 'closed' | 'direct'
  archived: boolean
  created_at: number
  members: number
  messages: number
}

export interface ServerSettings {
  team_name: string
  registration: Registration
  members_invite: boolean
  room_creation: RoomCreation
  /** Days messages are kept; 0: forever. */
  retention_days: number
  /** Largest upload (bytes). */
  max_file_bytes: number
  /** Bytes one person may upload in 24 hours; 0: no limit. */
  upload_quota_bytes: number
  needs_setup: boolean
}

export type SettingsPatch = Partial<Omit<ServerSettings, 'needs_setup'>>

export interface StatsDay {
  /** `YYYY-MM-DD` (UTC). */
  day: string
  messages: number
  peak_connections: number
}

export interface ServerStats {
  connections: number
  online_users: number
  messages: number
  data_bytes: number
  store: string
  /** Up to 14 days, oldest first. */
  days: StatsDay[]
}

export interface AuditEntry {
  id: number
  at: number
  actor: string
  action: string
  target: string
  detail: string
}

/** A one-time link an admin hands over (`/#/password/<secret>`). */
export interface PasswordLink {
  path: string
  expires_in_hours: number
}

const enc = encodeURIComponent

/** The team endpoints on top of a REST client (`useApi()` for the signed-in ones). */
export function teamApi(api: ApiClient) {
  const { request } = api
  return {
    // ---- public ----
    setUp: (teamName: string, username: string, password: string) =>
      request<AuthResponse>('api/setup', { method: 'POST', body: { team_name: teamName, username, password }, auth: false }),
    inviteInfo: (secret: string) => request<InviteInfo>(`api/auth/invite/${enc(secret)}`, { auth: false }),
    passwordLinkInfo: (secret: string) => request<PasswordLinkInfo>(`api/auth/password-link/${enc(secret)}`, { auth: false }),
    usePasswordLink: (secret: string, password: string) =>
      request<AuthResponse>(`api/auth/password-link/${enc(secret)}`, { method: 'POST', body: { password }, auth: false }),

    // ---- one's own account ----
    me: (signal?: AbortSignal) => request<Person>('api/me', { signal }),
    updateMe: (patch: { display_name?: string; status?: string }) => request<Person>('api/me', { method: 'PATCH', body: patch }),
    /** Upload can take a while on a slow link: a minute. */
    setAvatar: (image: Blob) => request<Person>('api/me/avatar', { method: 'PUT', raw: image, timeoutMs: 60_000 }),
    removeAvatar: () => request<Person>('api/me/avatar', { method: 'DELETE' }),
    people: (signal?: AbortSignal) => request<PersonList>('api/people', { signal }),
    changePassword: (currentPassword: string, newPassword: string) =>
      request<void>('api/me/password', { method: 'POST', body: { current_password: currentPassword, new_password: newPassword } }),
    sessions: () => request<{ sessions: AccountSession[] }>('api/me/sessions'),
    signOutSession: (id: string) => request<void>(`api/me/sessions/${enc(id)}`, { method: 'DELETE' }),
    signOutOthers: () => request<void>('api/me/sessions/sign-out-others', { method: 'POST' }),

    // ---- invitations ----
    invites: () => request<{ invites: Invite[] }>('api/invites'),
    createInvite: (hours: number, uses: number) => request<CreatedInvite>('api/invites', { method: 'POST', body: { hours, uses } }),
    revokeInvite: (id: number) => request<unknown>(`api/invites/${id}`, { method: 'DELETE' }),

    // ---- admins ----
    users: (q = '') => request<{ users: AdminUser[] }>('api/admin/users', { query: { q: q || undefined } }),
    createUser: (username: string) => request<{ user: { id: number; username: string }; path: string }>('api/admin/users', { method: 'POST', body: { username } }),
    updateUser: (id: number, patch: { admin?: boolean; active?: boolean }) => request<Person>(`api/admin/users/${id}`, { method: 'PATCH', body: patch }),
    passwordLink: (id: number) => request<PasswordLink>(`api/admin/users/${id}/password-link`, { method: 'POST' }),
    rooms: () => request<{ rooms: AdminRoom[] }>('api/admin/rooms'),
    archiveRoom: (id: number, archived: boolean) => request<unknown>(`api/admin/rooms/${id}/archive`, { method: 'POST', body: { archived } }),
    /** Removes every member, deletes every message with its files and hides the room (its name is free again); not the lobby nor direct messages (403). */
    deleteRoom: (id: number) => request<{ deleted_messages: number }>(`api/admin/rooms/${id}`, { method: 'DELETE' }),
    settings: () => request<ServerSettings>('api/admin/settings'),
    updateSettings: (patch: SettingsPatch) => request<ServerSettings>('api/admin/settings', { method: 'PATCH', body: patch }),
    stats: () => request<ServerStats>('api/admin/stats'),
    audit: (before?: number) => request<{ entries: AuditEntry[] }>('api/admin/audit', { query: { before } }),
    runRetention: () => request<{ deleted: number }>('api/admin/retention', { method: 'POST', timeoutMs: 120_000 }),
  }
}

export type TeamApi = ReturnType<typeof teamApi>

/**
 * The full URL of an app path the server gave (`/#/invite/<secret>`): this
 * page's address (so a sub-path behind a proxy stays) with that fragment.
 */
export function appLink(path: string, location: { origin: string; pathname: string } = window.location): string {
  return location.origin + location.pathname + path.replace(/^\//, '')
}
