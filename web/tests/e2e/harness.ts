/**
 * End-to-end harness: runs the real `hearth` binary and Debian's Chromium.
 *
 * - `HEARTH_BIN`: the server executable (default `../target/release/hearth`
 *   relative to web/).
 * - `CHROMIUM_PATH`: the browser (default `/usr/bin/chromium`).
 * - `E2E_RESULTS`: where screenshots and server logs go (default `web/e2e-results`).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, type WriteStream } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll } from 'vitest'

export const WEB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const RESULTS_DIR = resolve(process.env.E2E_RESULTS ?? join(WEB_DIR, 'e2e-results'))
export const HEARTH_BIN = resolve(WEB_DIR, process.env.HEARTH_BIN ?? '../target/release/hearth')
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

const LISTENING = /listening on (http:\/\/127\.0\.0\.1:(\d+))/

/**
 * A clean results folder. Without `sub`: the top level (its files, not the
 * subfolders other test files write); with `sub`: that subfolder, so the
 * test files can run in any order without deleting each other's results.
 */
export function prepareResultsDir(sub?: string): string {
  const dir = sub ? join(RESULTS_DIR, sub) : RESULTS_DIR
  if (sub) rmSync(dir, { recursive: true, force: true })
  else if (existsSync(dir)) {
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (!entry.isDirectory()) rmSync(join(dir, entry.name), { force: true })
  }
  mkdirSync(dir, { recursive: true })
  return dir
}

export function makeDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'hearth-e2e-'))
}

/** A running `hearth serve` process. */
export class HearthServer {
  url = ''
  port = 0
  private proc: ChildProcess | undefined
  private log: WriteStream
  private exited: Promise<number | null> = Promise.resolve(null)

  constructor(
    readonly dataDir: string,
    readonly name: string,
    readonly extraArgs: string[] = [],
    /** Where `server-<name>.log` goes. */
    readonly logDir: string = RESULTS_DIR,
  ) {
    this.log = createWriteStream(join(logDir, `server-${name}.log`), { flags: 'a' })
  }

  /** Starts the server (on `port`, or a free one) and waits for its `listening on` line. */
  async start(port = this.port): Promise<void> {
    if (!existsSync(HEARTH_BIN)) {
      throw new Error(
        `Hearth server binary not found at ${HEARTH_BIN}. Build it with \`cargo build --release\` ` +
          'in the repository root, or set HEARTH_BIN.',
      )
    }
    // Rebinding the port right after a stop can race the old socket's release: retry briefly.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.spawnOnce(port)
        return
      } catch (error) {
        if (port === 0 || attempt >= 20) throw error
        await new Promise((r) => setTimeout(r, 250))
      }
    }
  }

  private spawnOnce(port: number): Promise<void> {
    const args = ['serve', '--bind', `127.0.0.1:${port}`, '--data-dir', this.dataDir, '--no-open', ...this.extraArgs]
    this.log.write(`\n$ ${HEARTH_BIN} ${args.join(' ')}\n`)
    const proc = spawn(HEARTH_BIN, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HEARTH_LOG: process.env.HEARTH_LOG ?? 'info', NO_COLOR: '1' },
    })
    this.proc = proc
    this.exited = new Promise((res) => proc.once('exit', (code) => res(code)))
    proc.stderr!.on('data', (chunk: Buffer) => this.log.write(chunk))
    return new Promise<void>((res, rej) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL')
        rej(new Error(`${this.name}: no "listening on" line within 30 s (see ${this.logDir}/server-${this.name}.log)`))
      }, 30_000)
      const lines = createInterface({ input: proc.stdout! })
      let ready = false
      lines.on('line', (line) => {
        this.log.write(line + '\n')
        const m = LISTENING.exec(line)
        if (m && !ready) {
          ready = true
          clearTimeout(timer)
          this.url = m[1]! + '/'
          this.port = Number(m[2])
          res()
        }
      })
      proc.once('exit', (code) => {
        clearTimeout(timer)
        if (!ready) rej(new Error(`${this.name}: exited with ${code} before listening`))
      })
      proc.once('error', (error) => {
        clearTimeout(timer)
        rej(error)
      })
    })
  }

  /** SIGTERM, then waits for the exit code (SIGKILL after 15 s). */
  async stop(): Promise<number | null> {
    const proc = this.proc
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return proc?.exitCode ?? null
    proc.kill('SIGTERM')
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000)
    const code = await this.exited
    clearTimeout(timer)
    this.proc = undefined
    return code
  }

  /** Restarts on the same port and data directory. */
  async restart(): Promise<number | null> {
    const code = await this.stop()
    await this.start(this.port)
    return code
  }

  async dispose(): Promise<void> {
    await this.stop()
    this.log.end()
  }

  /**
   * The first-run setup over the API (`POST /api/setup`): the team's name and
   * its first account, an admin that no test signs in as. A fresh server
   * otherwise shows its setup page instead of the login form.
   */
  async setUp(teamName = OWNER_TEAM): Promise<void> {
    const res = await this.api('api/setup', { method: 'POST', body: { team_name: teamName, username: OWNER_NAME, password: E2E_PASSWORD } })
    if (res.status !== 201) throw new Error(`${this.name}: POST /api/setup answered ${res.status}`)
  }

  /** Calls the REST API. */
  async api<T>(
    path: string,
    init: { method?: string; token?: string; body?: unknown } = {},
  ): Promise<{ status: number; body: T; headers: Headers }> {
    const res = await fetch(new URL(path, this.url), {
      method: init.method ?? 'GET',
      headers: {
        ...(init.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        ...(init.token ? { Authorization: `Bearer ${init.token}` } : {}),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    })
    const text = await res.text()
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers }
  }
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`)
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  })
}

/** What one e2e test file runs against; the fields are set once its `beforeAll` has run. */
export interface E2eSuite {
  readonly server: HearthServer
  readonly browser: Browser
  /** The file's results folder (screenshots and the server log). */
  readonly results: string
}

/**
 * Registers the test file's `beforeAll`/`afterAll`: a clean results folder
 * (`results`, a subfolder, or the top level without it), a `hearth serve`
 * named `name` (default: the subfolder) with `args` that logs there, set up
 * over the API (`setup: false` leaves it fresh, showing its setup page), and
 * Chromium; both are closed after the file's tests.
 */
export function setUpSuite(options: { results?: string; name?: string; args?: string[]; setup?: boolean }): E2eSuite {
  const { results: sub, args = [], setup = true } = options
  const name = options.name ?? sub
  if (!name) throw new Error('setUpSuite: a server name (or a results subfolder) is needed')
  let server: HearthServer | undefined
  let browser: Browser | undefined
  let results: string | undefined

  beforeAll(async () => {
    results = prepareResultsDir(sub)
    console.log(sub ? `[e2e] ${sub} screenshots and server log: ${results}` : `[e2e] screenshots and server logs: ${results}`)
    server = new HearthServer(makeDataDir(), name, args, results)
    await server.start()
    if (setup) await server.setUp()
    browser = await launchBrowser()
  })

  afterAll(async () => {
    await browser?.close()
    await server?.dispose()
  })

  function ready<T>(value: T | undefined, what: string): T {
    if (value === undefined) throw new Error(`e2e: no ${what} yet (it is set up in beforeAll)`)
    return value
  }
  return {
    get server() {
      return ready(server, 'server')
    },
    get browser() {
      return ready(browser, 'browser')
    },
    get results() {
      return ready(results, 'results folder')
    },
  }
}

export const DESKTOP = { viewport: { width: 1280, height: 800 } }
export const PHONE = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
}

/** Records page errors and dialogs (an `alert` from injected markup would show up here). */
export function watchPage(page: Page, label: string) {
  const dialogs: string[] = []
  const errors: string[] = []
  page.on('dialog', (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`)
    void dialog.dismiss()
  })
  page.on('pageerror', (error) => errors.push(`${label}: ${error.message}`))
  return { dialogs, errors }
}

/**
 * A new browser context and page. Every context gets a browser language
 * (`locale`, sent as `navigator.languages` and Accept-Language): zh-CN by
 * default, the language the tests' assertions are written in (headless
 * Chromium would otherwise say en-US, and the app would start in English).
 */
export async function newPage(
  browser: Browser,
  options: typeof DESKTOP | typeof PHONE,
  locale = 'zh-CN',
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ ...options, locale })
  const page = await context.newPage()
  page.setDefaultTimeout(15_000)
  return { context, page }
}

export function screenshotPath(name: string): string {
  return join(RESULTS_DIR, name)
}

/** The password of every account the browser tests register. */
export const E2E_PASSWORD = 'correct horse battery'
/** The admin `HearthServer.setUp` creates (no test signs in as it), and the team's name. */
export const OWNER_NAME = 'owner'
export const OWNER_TEAM = 'E2E Team'

/** Waits until the page's connection status says it is connected. */
export async function waitConnected(page: Page): Promise<void> {
  await page.getByTestId('connection-status').filter({ hasText: '已连接' }).waitFor()
}

/** A registered user's browser context, signed in, with the account's token and id. */
export interface Person {
  name: string
  context: BrowserContext
  page: Page
  token: string
  id: number
  watch: ReturnType<typeof watchPage>
}

/**
 * Registers `name` in a new browser context (after `prepare`, e.g. granting
 * permissions or adding init scripts) and returns it signed in.
 */
export async function registerUser(
  browser: Browser,
  server: HearthServer,
  name: string,
  options: typeof DESKTOP | typeof PHONE,
  prepare?: (context: BrowserContext) => Promise<void>,
): Promise<Person> {
  const { context, page } = await newPage(browser, options)
  await prepare?.(context)
  const watch = watchPage(page, name)
  await page.goto(server.url)
  await page.getByRole('tab', { name: '注册' }).click()
  await page.getByPlaceholder('用户名').fill(name)
  await page.getByPlaceholder('密码', { exact: true }).fill(E2E_PASSWORD)
  await page.getByPlaceholder('再次输入密码').fill(E2E_PASSWORD)
  await page.getByTestId('auth-submit').click()
  await waitConnected(page)
  const token = await page.evaluate(() => localStorage.getItem('auth_token') ?? '')
  const me = await server.api<{ id: number }>('api/auth/me', { token })
  if (me.status !== 200) throw new Error(`api/auth/me answered ${me.status} for ${name}`)
  return { name, context, page, token, id: me.body.id, watch }
}

/** Another browser (phone or desktop) signed in as `name`. */
export async function signIn(browser: Browser, server: HearthServer, name: string, options: typeof DESKTOP | typeof PHONE): Promise<{ context: BrowserContext; page: Page }> {
  const { context, page } = await newPage(browser, options)
  await page.goto(server.url)
  await page.getByPlaceholder('用户名').fill(name)
  await page.getByPlaceholder('密码', { exact: true }).fill(E2E_PASSWORD)
  await page.getByTestId('auth-submit').click()
  await waitConnected(page)
  return { context, page }
}

/**
 * Saves a screenshot of `page` as `dir/name` once transitions have finished
 * (`settle: false` for a screen whose animation never ends, e.g. typing dots).
 */
export async function screenshot(page: Page, dir: string, name: string, settle = true): Promise<void> {
  if (settle) {
    await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== 'running'), undefined, { polling: 50 })
  }
  await page.screenshot({ path: join(dir, name) })
}
