import type zh from '../zh-CN/rooms'

/** Rooms and direct messages: the sidebar, a room's header, members, dialogs (en). */
const rooms: typeof zh = {
  sidebar: {
    rooms: 'Rooms',
    directs: 'Direct messages',
    joinable: 'Rooms you can join',
    newRoom: 'New room',
    newDirect: 'New direct message',
    noRooms: 'You have not joined any rooms yet',
    noDirects: 'No direct messages yet',
    join: 'Join',
  },
  title: {
    lobby: 'Lobby',
    onlyMe: 'Just you',
    unnamed: 'Untitled room',
  },
  kind: {
    direct: 'Direct message',
    closed: 'Private room',
    open: 'Open room',
  },
  badge: {
    mentions: '{n} mention | {n} mentions',
    mentionsTitle: '{n} message mentions you | {n} messages mention you',
    unread: '{n} unread',
  },
  notify: {
    label: 'Notifications',
    all: 'All messages',
    mentions: "{'@'}mentions & DMs",
    none: 'Off',
  },
  header: {
    members: 'Members: {n}',
    menu: 'Room settings',
    editTopic: 'Edit topic',
    renameOrTopic: 'Rename / edit topic',
    archive: 'Archive',
    unarchive: 'Unarchive',
    leave: 'Leave room',
  },
  view: {
    archivedNotice: 'This room is archived: you can only read its history.',
    joinPrompt: 'You are not a member of "{room}". Join it to read and send messages.',
    join: 'Join room',
    leaveConfirm: 'Leave "{room}"?',
    leaveTitle: 'Leave room',
    leaveButton: 'Leave',
    archived: 'Archived: the room is read-only and hidden from the sidebar',
    unarchived: 'The room is no longer archived',
  },
  members: {
    title: 'Members ({n})',
    addPlaceholder: 'Add members: type a username',
    added: 'Added {names}',
    alreadyMembers: 'They are already members',
    removeConfirm: 'Remove {name} from "{room}"?',
    removeTitle: 'Remove member',
  },
  create: {
    title: 'New room',
    name: 'Name',
    namePlaceholder: 'e.g. Design review',
    kind: 'Type',
    kindOpen: 'Open: visible to everyone, anyone can join',
    kindClosed: 'Private: visible to members only',
    topicOptional: 'Topic (optional)',
    topicPlaceholder: 'What is this room about?',
    membersOptional: 'Members (optional)',
    membersPlaceholder: 'Search by username to add people',
    nameRequired: 'Enter a room name',
    nameTooLong: 'Room names can be at most 64 characters long',
    nameControl: 'Room names cannot contain control characters',
    topicTooLong: 'Topics can be at most 250 characters long',
    nameTaken: 'A room with this name already exists',
  },
  direct: {
    title: 'New direct message',
    hint: 'Pick 1–{max} people. The same group of people always gets the same conversation.',
    start: 'Start chatting',
  },
  settings: {
    title: 'Room settings',
    titleLobby: 'Edit topic',
    name: 'Name',
    topic: 'Topic',
    nameLength: 'Room names are 1–64 characters long',
  },
  picker: {
    placeholder: 'Search by username',
    noUsers: 'No users found',
    searching: 'Searching…',
  },
  notFound: {
    title: 'This room does not exist, or you do not have access to it',
    body: 'The link may be wrong, or you are no longer a member of this room.',
    backToLobby: 'Back to the lobby',
  },
}

export default rooms
