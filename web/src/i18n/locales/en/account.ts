import type zh from '../zh-CN/account'

/** One's own account: profile, password, signed-in devices (en). */
const account: typeof zh = {
  menu: 'Account settings',
  title: 'Account settings',
  deactivatedTag: 'deactivated',
  profile: {
    title: 'Profile',
    upload: 'Upload picture',
    removeAvatar: 'Remove picture',
    avatarHint: 'PNG, JPEG, GIF or WebP, up to 5 MB',
    avatarType: 'Only PNG, JPEG, GIF or WebP images',
    avatarSize: 'The image must not be larger than 5 MB',
    avatarSaved: 'Picture updated',
    displayName: 'Display name',
    displayNameTooLong: 'Display names are at most 64 characters long',
    status: 'Status',
    statusTooLong: 'The status is at most 140 characters long',
    statusPlaceholder: 'e.g. Working from home today',
  },
  password: {
    title: 'Change password',
    lead: 'Every other device signed in to your account is signed out; this one stays signed in.',
    current: 'Current password',
    currentRequired: 'Enter your current password',
    new: 'New password',
    done: 'Password changed. Your other devices were signed out.',
    submit: 'Change password',
  },
  sessions: {
    title: 'Signed-in devices',
    signOutOthers: 'Sign out everywhere else',
    othersConfirm: 'Every device but this one will be signed out at once. Continue?',
    othersDone: 'All other devices were signed out',
    none: 'No sessions',
    browserOn: '{browser} on {os}',
    unknownDevice: 'Unknown device',
    thisDevice: 'This device',
    activeNow: 'Active now',
    lastSeen: 'Last active {when}',
    signedIn: 'Signed in {when}',
    signOut: 'Sign out',
    signedOut: 'That device was signed out',
  },
}

export default account
