import type zh from '../zh-CN/search'

/** Message search (en). Refusals are in `errors.search`. */
const search: typeof zh = {
  placeholder: 'Search messages',
  shortcut: 'Ctrl+K',
  open: 'Search messages (Ctrl+K or /)',
  title: 'Search results',
  close: 'Close search',
  back: 'Back',
  newest: 'Newest',
  relevance: 'Relevance',
  orderLabel: 'Sort by',
  help: 'Filters: {in} {from}, e.g. "meeting in:design from:amy"',
  helpIn: 'in:room',
  helpFrom: 'from:user',
  loadMore: 'Load more',
  loading: 'Searching…',
  noMore: 'No more results',
  empty: 'No messages contain "{q}"',
  idle: 'Type a few words and press Enter to search',
  countShown: 'Showing {n} result | Showing {n} results',
  countTotal: '{n} result | {n} results',
  direct: 'Direct message',
  deleted: 'This message was deleted',
}

export default search
