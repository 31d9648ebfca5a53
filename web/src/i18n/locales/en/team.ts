import type zh from '../zh-CN/team'

/** Joining a team: the first-run setup, invitation and password links, and the invite dialog (en). */
const team: typeof zh = {
  goLogin: 'Go to the sign-in page',
  setup: {
    title: 'Welcome to Hearth',
    intro: 'This server has no accounts yet. This form creates your team and its first account, which will be the admin.',
    teamName: 'Team name',
    teamNamePlaceholder: 'e.g. Design team',
    teamNameLength: 'Team names are 1–64 characters long',
    adminAccount: 'Admin account',
    submit: 'Create team and sign in',
    alreadyTitle: 'This server is already set up',
    alreadyText: 'Accounts exist on this server already. Please sign in.',
  },
  invite: {
    title: 'Invitation',
    subtitle: '{name} invites you to join "{team}". Create an account to start chatting.',
    expires: 'This link is valid until {time}',
    submit: 'Sign up and join',
  },
  link: {
    unreachable: 'This link cannot be opened right now',
    unusable: 'This link can no longer be used',
    advice: 'Ask the person who sent it for a new one.',
  },
  password: {
    title: 'Set your password',
    subtitle: 'Choose a new password for your account; you will be signed in right after.',
    newPassword: 'New password',
    expires: 'This link works once, until {time}',
    submit: 'Set password and sign in',
  },
  copy: {
    label: 'Link',
    copy: 'Copy',
    copied: 'Copied',
    failed: 'Could not copy automatically: select the link and copy it',
  },
  inviteState: {
    active: 'Active',
    expired: 'Expired',
    used_up: 'Used up',
    revoked: 'Revoked',
  },
  inviteDialog: {
    menu: 'Invite people',
    title: 'Invite people',
    intro: 'Create an invitation link and send it to a colleague: opening it lets them create an account and join the team.',
    expiry: 'Expires after',
    uses: 'People',
    days: '{n} day | {n} days',
    people: '{n} person | {n} people',
    create: 'Create invitation link',
    qrAlt: 'QR code of the invitation link',
    createdTitle: 'Invitation link created',
    createdHint:
      'Copy the link and send it, or let them scan the QR code with a phone. Valid until {time} for {n} person. This is the only time the link is shown. | Copy the link and send it, or let them scan the QR code with a phone. Valid until {time} for {n} people. This is the only time the link is shown.',
    listTitle: 'Invitations',
    none: 'No invitations yet',
    usesOf: '{used}/{max} used',
    by: 'By {name}',
    expiresIn: 'Expires {when}',
    createdAt: 'Created {when}',
    revoke: 'Revoke',
    revokeConfirm: 'Once revoked, nobody can sign up with this link. Revoke it?',
  },
}

export default team
