import type zh from '../zh-CN/conversation'

/** One message and what can be done with it: edits, deletions, reactions, replies, mentions, typing (en). */
const conversation: typeof zh = {
  deleted: 'This message was deleted',
  edited: '(edited)',
  editedAt: 'Edited {time}',
  editLabel: 'Edit message',
  editHint: 'Enter to save · Esc to cancel',
  react: 'React',
  reply: 'Reply',
  edit: 'Edit',
  more: 'More actions',
  addReaction: 'Add a reaction',
  reactedBy: '{names} reacted with {emoji}',
  reactedByMore: '{names} and others ({n} in all) reacted with {emoji}',
  originalDeleted: 'The original message was deleted',
  viewOriginal: 'Show the original message',
  originalGone: 'The original message was deleted or does not exist',
  editEmpty: 'A message cannot be empty (use Delete to remove it)',
  editTooLong: 'Messages can be at most {max} characters long',
  deleteConfirm: 'Nobody will be able to see this message anymore. Delete it?',
  deleteTitle: 'Delete message',
  pickEmoji: 'Pick an emoji',
  emojiGroups: {
    smileys: 'Smileys',
    gestures: 'Gestures',
    symbols: 'Hearts & symbols',
    objects: 'Celebration & objects',
    animals: 'Animals',
  },
  mentionList: 'Mention someone',
  mentionEveryone: 'Notify everyone in the room',
  typing: {
    one: '{names} is typing…',
    two: '{names} are typing…',
    many: '{n} people are typing…',
  },
}

export default conversation
