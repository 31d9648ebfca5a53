import type zh from '../zh-CN/time'

/** Dates and durations (en); the dates themselves come from Intl with the active locale. */
const time: typeof zh = {
  today: 'Today',
  yesterday: 'Yesterday',
  unknownTime: 'Unknown time',
  unknownDate: 'Unknown date',
  seconds: '{n} second | {n} seconds',
  never: 'Never',
  justNow: 'just now',
  inAMoment: 'in a moment',
  minutes: '{n} minute | {n} minutes',
}

export default time
