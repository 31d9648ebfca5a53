/** The settings panel of the user menu: notifications, sound, language (zh-CN). */
export default {
  title: '通知设置',
  desktop: '桌面通知',
  status: {
    granted: '已开启：不在此页面时，新的提及和私信会以桌面通知提醒你。',
    denied: '已被浏览器阻止。请在浏览器的网站设置中允许通知后刷新页面。',
    insecure: '桌面通知需要通过 HTTPS（或 localhost）访问本站，当前为普通 HTTP 连接，无法开启。',
    unsupported: '此浏览器不支持桌面通知。',
    default: '尚未开启。',
  },
  allow: '允许桌面通知',
  allowed: '已允许',
  unavailable: '无法开启',
  sound: '提示音',
  soundLabel: '收到通知时播放提示音',
  levelsHint: "每个房间的通知级别（所有消息 / 仅 {'@'}提及和私信 / 不通知）可在房间顶部的铃铛处设置。",
  language: '语言',
}
