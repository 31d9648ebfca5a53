import { createApp } from 'vue'
import { createPinia } from 'pinia'
import App from './App.vue'
import { createAppRouter } from './router'
import 'element-plus/theme-chalk/base.css'
import './styles/main.css'

createApp(App).use(createPinia()).use(createAppRouter()).mount('#app')
