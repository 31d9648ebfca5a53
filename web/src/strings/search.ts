/**
 * UI text of message search (zh-CN). Kept in one place so it can move into
 * vue-i18n messages as it is.
 */
export const searchText = {
  placeholder: '搜索消息',
  shortcut: 'Ctrl+K',
  open: '搜索消息（Ctrl+K 或 /）',
  title: '搜索结果',
  close: '关闭搜索',
  back: '返回',
  submit: '搜索',
  newest: '最新',
  relevance: '相关度',
  orderLabel: '排序',
  help: '筛选：',
  helpIn: 'in:房间',
  helpFrom: 'from:用户',
  helpTail: '，例如「会议 in:设计 from:amy」',
  loadMore: '加载更多',
  loading: '搜索中…',
  noMore: '没有更多结果了',
  empty: (q: string) => `没有找到包含「${q}」的消息`,
  idle: '输入关键词后按 Enter 搜索',
  count: (n: number, more: boolean) => (more ? `已显示 ${n} 条结果` : `共 ${n} 条结果`),
  direct: '私信',
  deleted: '消息已删除',
  errors: {
    query_empty: '请输入要搜索的内容',
    query_too_short: '关键词至少需要 2 个字符',
    bad_request: '找不到 in: 指定的房间或 from: 指定的用户',
    bad_response: '服务器返回了无法识别的结果',
  },
} as const
