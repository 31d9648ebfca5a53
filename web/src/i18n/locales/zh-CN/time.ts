/** Dates and durations (zh-CN); the dates themselves come from Intl with the active locale. */
export default {
  today: '今天',
  yesterday: '昨天',
  unknownTime: '时间未知',
  unknownDate: '日期未知',
  seconds: '{n} 秒',
  minutes: '{n} 分钟',
  /** Never seen (a last-seen column). */
  never: '从未',
  justNow: '刚刚',
  inAMoment: '马上',
}
