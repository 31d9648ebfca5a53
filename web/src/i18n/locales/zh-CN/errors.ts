/**
 * Errors (zh-CN). Server errors are `{"error":{"code","message"}}` with an
 * English message: `code` maps the codes every call may get; the other maps
 * are what a code means in one place (a WebSocket `error` frame, an upload,
 * a message action, a search). An unknown code shows the server's message.
 * `{hint}` is `retryIn` or `retryLater`.
 */
export default {
  network: '无法连接服务器',
  timeout: '请求超时',
  retryIn: '请 {wait}后再试',
  retryLater: '请稍后再试',
  invalidRequest: '请求无效',
  invalidRequestDetail: '请求无效：{message}',
  code: {
    rate_limited: '操作太频繁，{hint}',
    busy: '服务器繁忙，{hint}',
    unauthorized: '登录已失效，请重新登录',
    too_large: '内容过大',
    unavailable: '服务器暂不可用，请稍后再试',
    internal: '服务器内部错误，请稍后再试',
    not_found: '房间不存在或你无权访问',
    archived: '房间已归档，不能发送消息',
    conflict: '名称已被占用',
    forbidden: '没有权限执行此操作',
    // ---- running a team ----
    registration_closed: '这台服务器已关闭注册，请联系管理员为你创建账号',
    invite_required: '注册需要邀请链接，请向同事索取',
    invite_not_found: '邀请链接无效，请检查链接是否完整',
    invite_expired: '邀请链接已过期',
    invite_used_up: '邀请链接的可用次数已用完',
    invite_revoked: '邀请链接已被撤销',
    link_invalid: '这个链接已经使用过或已过期',
    account_deactivated: '这个账号已被停用，请联系管理员',
    last_admin: '团队至少需要一位正常状态的管理员',
    admin_only: '只有管理员可以执行此操作',
    wrong_password: '当前密码不正确',
    already_set_up: '这台服务器已经设置好了，请直接登录',
    room_creation_admins: '只有管理员可以创建房间',
    bad_image: '图片无法识别，或像素尺寸过大',
  },
  /** `error` frames of the stream (a refused send). */
  stream: {
    invalid_content: '消息内容无效（为空、超长或包含控制字符）',
    too_large: '消息过大',
    internal: '服务器内部错误',
  },
  upload: {
    file_too_large: '文件过大，不能超过 {limit}',
    file_too_large_unknown: '文件过大，超过服务器允许的大小',
    upload_quota: '今日上传额度已用完，请明天再试',
    disk_full: '服务器存储空间已满，请联系管理员',
    bad_image: '图片无法识别，或像素尺寸过大',
    not_found: '房间不存在或你无权访问',
    file_not_found: '文件不存在或你无权访问',
    archived: '房间已归档，不能上传文件',
    forbidden: '没有权限上传文件',
    network: '网络错误，上传失败',
    aborted: '已取消上传',
    unauthorized: '登录已失效，请重新登录',
    bad_response: '服务器返回了无法识别的结果',
  },
  /** Edits, deletions and reactions. */
  message: {
    edit_window_closed: '已超过可编辑的时间',
    too_many_reactions: '每条消息最多 {max} 种表情',
    too_many_reactions_unknown: '这条消息的表情种类已达上限',
    forbidden: '没有权限执行此操作',
    not_found: '消息不存在或已被删除',
    archived: '房间已归档，不能再修改消息',
    bad_request: '无效的内容',
  },
  search: {
    query_empty: '请输入要搜索的内容',
    query_too_short: '关键词至少需要 2 个字符',
    bad_request: '找不到 in: 指定的房间或 from: 指定的用户',
    bad_response: '服务器返回了无法识别的结果',
  },
}
