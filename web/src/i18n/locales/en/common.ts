import type zh from '../zh-CN/common'

/** Words shared by every area (en). */
const common: typeof zh = {
  appName: 'Hearth',
  documentTitle: 'Hearth Chat',
  cancel: 'Cancel',
  save: 'Save',
  saved: 'Saved',
  retry: 'Retry',
  delete: 'Delete',
  remove: 'Remove',
  add: 'Add',
  create: 'Create',
  loading: 'Loading…',
  me: 'You',
  online: 'Online',
  offline: 'Offline',
  message: 'Message',
  listSeparator: ', ',
  language: 'Language',
}

export default common
