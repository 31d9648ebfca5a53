/**
 * Client-side routes: `/login`, `/` (the last room, else the lobby) and
 * `/rooms/:id`, so reload and back/forward keep the room and a room's link
 * can be shared.
 *
 * Hash history (`…/#/rooms/7`): the server serves the app from any path and
 * every asset URL is relative (so Hearth works behind a proxy under a
 * sub-path); a path such as `/rooms/7` would make the browser look for
 * `/rooms/assets/…`. The fragment never reaches the server, so this needs
 * nothing from it.
 */
import { createRouter, createWebHashHistory, type RouteLocationNormalized, type RouterHistory } from 'vue-router'
import { session } from '@/session'
import ChatLayout from '@/views/ChatLayout.vue'
import HomeView from '@/views/HomeView.vue'
import LoginPage from '@/views/LoginPage.vue'
import RoomView from '@/views/RoomView.vue'
import { parseRoomId } from './params'

export { parseRoomId, safeRedirect } from './params'

declare module 'vue-router' {
  interface RouteMeta {
    /** Shown without a session. */
    public?: boolean
  }
}

export function createAppRouter(history: RouterHistory = createWebHashHistory()) {
  const router = createRouter({
    history,
    routes: [
      { path: '/login', name: 'login', component: LoginPage, meta: { public: true } },
      {
        path: '/',
        component: ChatLayout,
        children: [
          { path: '', name: 'home', component: HomeView },
          { path: 'rooms/:id', name: 'room', component: RoomView, props: (route) => ({ roomId: parseRoomId(route.params.id) }) },
        ],
      },
      { path: '/:pathMatch(.*)*', redirect: '/' },
    ],
  })

  router.beforeEach((to: RouteLocationNormalized) => {
    if (to.meta.public) return session.token && to.name === 'login' ? { name: 'home' } : true
    if (session.token) return true
    return { name: 'login', query: to.fullPath === '/' ? {} : { redirect: to.fullPath } }
  })

  return router
}
