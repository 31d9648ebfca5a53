/**
 * zh-CN messages, one module per area. Adding an area (say `admin`): write
 * `admin.ts` here and in `../en/`, and add its line below and in `../en/index.ts`.
 */
export { default as common } from './common'
export { default as time } from './time'
export { default as errors } from './errors'
export { default as auth } from './auth'
export { default as chat } from './chat'
export { default as conversation } from './conversation'
export { default as rooms } from './rooms'
export { default as files } from './files'
export { default as search } from './search'
export { default as settings } from './settings'
export { default as team } from './team'
export { default as account } from './account'
export { default as admin } from './admin'
