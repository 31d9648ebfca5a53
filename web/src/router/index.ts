/**
 * Client-side routes: `/login`, `/` (the last room, else the lobby) and
 * `/rooms/:id`, so reload and back/forward keep the room and a room's link
 * can be shared; `/account` and `/admin` inside the chat layout; and the
 * signed-out pages of running a team: `/setup` (first run), `/invite/:secret`
 * and `/password/:secret` (the links the server hands out).
 *
 * Hash history (`…/#/rooms/7`): the server serves the app from any path and
 * every asset URL is relative (so Hearth works behind a proxy under a
 * sub-path); a path such as `/rooms/7` would make the browser look for
 * `/rooms/assets/…`. The fragment never reaches the server, so this needs
 * nothing from it.
 */
import { createRouter, createWebHashHistory, type RouteLocationNormalized, type RouterHistory } from 'vue-router'
import { session } from '@/session'
import AccountView from '@/views/AccountView.vue'
import AdminView from '@/views/AdminView.vue'
import ChatLayout from '@/views/ChatLayout.vue'
import HomeView from '@/views/HomeView.vue'
import InvitePage from '@/views/InvitePage.vue'
import LoginPage from '@/views/LoginPage.vue'
import PasswordLinkPage from '@/views/PasswordLinkPage.vue'
import RoomView from '@/views/RoomView.vue'
import SetupPage from '@/views/SetupPage.vue'
import { parseRoomId } from './params'

export { parseRoomId, safeRedirect } from './params'

declare module 'vue-router' {
  interface RouteMeta {
    /** Shown without a session. */
    public?: boolean
    /** A page of its own inside the chat layout (no room, no list of who is online beside it). */
    page?: boolean
  }
}

export function createAppRouter(history: RouterHistory = createWebHashHistory()) {
  const router = createRouter({
    history,
    routes: [
      { path: '/login', name: 'login', component: LoginPage, meta: { public: true } },
      { path: '/setup', name: 'setup', component: SetupPage, meta: { public: true } },
      { path: '/invite/:secret', name: 'invite', component: InvitePage, meta: { public: true }, props: (route) => ({ secret: String(route.params.secret) }) },
      {
        path: '/password/:secret',
        name: 'password-link',
        component: PasswordLinkPage,
        meta: { public: true },
        props: (route) => ({ secret: String(route.params.secret) }),
      },
      {
        path: '/',
        component: ChatLayout,
        children: [
          { path: '', name: 'home', component: HomeView },
          { path: 'rooms/:id', name: 'room', component: RoomView, props: (route) => ({ roomId: parseRoomId(route.params.id) }) },
          { path: 'account', name: 'account', component: AccountView, meta: { page: true } },
          { path: 'admin/:tab?', name: 'admin', component: AdminView, meta: { page: true }, props: (route) => ({ tab: String(route.params.tab ?? '') }) },
        ],
      },
      { path: '/:pathMatch(.*)*', redirect: '/' },
    ],
  })

  router.beforeEach((to: RouteLocationNormalized) => {
    if (to.meta.public) return session.token && (to.name === 'login' || to.name === 'setup') ? { name: 'home' } : true
    if (session.token) return true
    return { name: 'login', query: to.fullPath === '/' ? {} : { redirect: to.fullPath } }
  })

  return router
}
