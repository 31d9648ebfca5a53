import type zh from '../zh-CN/chat'

/** The signed-in frame: header, connection, banners, who is online, the message list and the composer (en). */
const chat: typeof zh = {
  header: {
    roomList: 'Rooms',
    pollingHint: 'WebSocket is unavailable; using HTTP polling',
    polling: 'Polling',
    viewOnline: 'See who is online',
    onlineStale: 'Updates once the connection is back',
    onlineCount: 'Online: {n}',
    loggingOut: 'Signing out…',
    userMenu: 'Account menu: {name}',
    logout: 'Sign out',
  },
  status: {
    connected: 'Connected',
    reconnecting: 'Reconnecting…',
    connecting: 'Connecting…',
    disconnected: 'Offline',
  },
  layout: {
    epochChanged: "The server's data was reset; messages have been reloaded.",
    cursorReset: 'Local messages were out of sync with the server and have been reloaded.',
    logoutConfirm:
      '{n} message has not been sent yet and will be discarded if you sign out. Sign out anyway? | {n} messages have not been sent yet and will be discarded if you sign out. Sign out anyway?',
    logoutConfirmButton: 'Sign out',
    bannerClosed: 'Disconnected.',
    bannerReconnecting: 'Connection lost. Reconnecting…',
    bannerWaiting: '{n} message will be sent once the connection is back. | {n} messages will be sent once the connection is back.',
    reconnectNow: 'Reconnect now',
    loadingRooms: 'Loading rooms…',
  },
  online: {
    title: 'Online now',
    messageUser: 'Message {name}',
    more: 'and {n} more',
    empty: 'Nobody is online',
  },
  list: {
    label: 'Messages',
    loading: 'Loading…',
    loadOlder: 'Load earlier messages',
    noOlder: 'No earlier messages',
    empty: 'No messages yet. Say hello 👋',
    loadNewer: 'Load newer messages',
    jumpLatest: 'Jump to latest',
    newMessages: '{n} new message | {n} new messages',
    pendingQuote: '{name}: {text}',
    replyToMessage: 'Reply to a message',
  },
  composer: {
    placeholder: 'Type a message — Enter to send, Shift+Enter for a new line',
    placeholderShort: 'Type a message',
    label: 'Message',
    send: 'Send',
    replying: 'Replying to',
    cancelReply: 'Cancel reply',
    cancelReplyHint: 'Cancel reply (Esc)',
  },
  pending: {
    failed: 'Not sent',
    failedWith: 'Not sent: {error}',
    sending: 'Sending',
    waiting: 'Will be sent once connected',
  },
  send: {
    failed: 'Could not send the message',
    empty: 'The message is empty',
    tooLong: 'Messages can be at most {max} characters long',
    notConnected: 'Not sent: not connected to the server',
    notConfirmed: 'The server did not confirm the message. Please retry.',
    replyGone: 'The message you replied to was deleted, or the room is no longer accessible',
  },
}

export default chat
