/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** Build-time switch from the seed: "false" builds a polling-only client. Default "true". */
  readonly VITE_USE_WEBSOCKET?: string
}

interface ImportMeta {
  readonly env: ImportMetaEnv
}
