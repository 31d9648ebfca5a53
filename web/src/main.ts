import { createApp } from 'vue'
import App from './App.vue'
import 'element-plus/theme-chalk/base.css'
import './styles/main.css'

createApp(App).mount('#app')
