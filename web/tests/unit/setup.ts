/** Runs before each unit test file (vitest `setupFiles`): components get vue-i18n, in zh-CN. */
import { installTestI18n } from './helpers'

installTestI18n('zh-CN')
