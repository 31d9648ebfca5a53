import { createApp } from 'vue'
import { createPinia } from 'pinia'
import App from './App.vue'
import { i18n } from './i18n'
import { createAppRouter } from './router'
import 'element-plus/theme-chalk/base.css'
import './styles/main.css'

createApp(App).use(i18n).use(createPinia()).use(createAppRouter()).mount('#app')
