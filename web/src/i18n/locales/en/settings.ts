import type zh from '../zh-CN/settings'

/** The settings panel of the user menu: notifications, sound, language (en). */
const settings: typeof zh = {
  title: 'Notification settings',
  desktop: 'Desktop notifications',
  status: {
    granted: 'On: new mentions and direct messages show as desktop notifications while you are away from this page.',
    denied: "Blocked by the browser. Allow notifications in the browser's site settings, then reload the page.",
    insecure:
      'Desktop notifications need this site to be opened over HTTPS (or on localhost). This is a plain HTTP connection, so they cannot be turned on.',
    unsupported: 'This browser does not support desktop notifications.',
    default: 'Not turned on yet.',
  },
  allow: 'Allow desktop notifications',
  allowed: 'Allowed',
  unavailable: 'Unavailable',
  sound: 'Sound',
  soundLabel: 'Play a sound with notifications',
  levelsHint: "Each room's level (All messages / {'@'}mentions & DMs / Off) is set with the bell at the top of the room.",
  language: 'Language',
}

export default settings
