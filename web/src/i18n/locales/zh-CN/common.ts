/** Words shared by every area (zh-CN). */
export default {
  appName: 'Hearth',
  /** The tab's title outside a signed-in page (and the login page's heading). */
  documentTitle: 'Hearth 聊天室',
  cancel: '取消',
  save: '保存',
  saved: '已保存',
  retry: '重试',
  delete: '删除',
  remove: '移除',
  add: '添加',
  create: '创建',
  loading: '加载中…',
  /** Badge next to one's own name. */
  me: '我',
  online: '在线',
  offline: '离线',
  /** Sends a direct message to someone. */
  message: '发消息',
  /** Between names in a list: 张三、李四. */
  listSeparator: '、',
  language: '语言',
}
