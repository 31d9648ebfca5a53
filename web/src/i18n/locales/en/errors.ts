import type zh from '../zh-CN/errors'

/** Errors (en); see the zh-CN file for how the maps are used. */
const errors: typeof zh = {
  network: 'Cannot reach the server',
  timeout: 'The request timed out',
  retryIn: 'Try again in {wait}.',
  retryLater: 'Please try again later.',
  invalidRequest: 'Invalid request',
  invalidRequestDetail: 'Invalid request: {message}',
  code: {
    rate_limited: 'Too many requests. {hint}',
    busy: 'The server is busy. {hint}',
    unauthorized: 'Your session has expired. Please sign in again.',
    too_large: 'The content is too large',
    unavailable: 'The server is unavailable right now. Please try again later.',
    internal: 'Internal server error. Please try again later.',
    not_found: 'This room does not exist, or you do not have access to it',
    archived: 'This room is archived: no new messages',
    conflict: 'This name is already taken',
    forbidden: 'You are not allowed to do this',
  },
  stream: {
    invalid_content: 'Invalid message (empty, too long, or with control characters)',
    too_large: 'The message is too large',
    internal: 'Internal server error',
  },
  upload: {
    file_too_large: 'File too large: the limit is {limit}',
    file_too_large_unknown: 'The file is larger than the server allows',
    upload_quota: "Today's upload quota is used up. Please try again tomorrow.",
    disk_full: "The server's storage is full. Please contact an administrator.",
    bad_image: 'The image could not be read, or it has too many pixels',
    not_found: 'This room does not exist, or you do not have access to it',
    file_not_found: 'This file does not exist, or you do not have access to it',
    archived: 'This room is archived: no new files',
    forbidden: 'You are not allowed to upload files',
    network: 'Network error: the upload failed',
    aborted: 'Upload cancelled',
    unauthorized: 'Your session has expired. Please sign in again.',
    bad_response: 'The server sent an answer the client does not understand',
  },
  message: {
    edit_window_closed: 'This message can no longer be edited',
    too_many_reactions: 'A message can have at most {max} different reactions',
    too_many_reactions_unknown: 'This message has as many different reactions as it can have',
    forbidden: 'You are not allowed to do this',
    not_found: 'The message does not exist or was deleted',
    archived: 'This room is archived: messages can no longer be changed',
    bad_request: 'Invalid content',
  },
  search: {
    query_empty: 'Type what to search for',
    query_too_short: 'Search words need at least 2 characters',
    bad_request: 'No room matches in:, or no user matches from:',
    bad_response: 'The server sent an answer the client does not understand',
  },
}

export default errors
