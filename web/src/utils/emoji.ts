/** Emoji offered for reactions: a quick set and a grouped grid of common ones (no dependency). */

export const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢', '🙏', '👀'] as const

export interface EmojiGroup {
  /** Its name is the message `conversation.emojiGroups.<id>`. */
  id: 'smileys' | 'gestures' | 'symbols' | 'objects' | 'animals'
  emoji: readonly string[]
}

const split = (s: string): string[] => s.split(' ').filter(Boolean)

export const EMOJI_GROUPS: readonly EmojiGroup[] = [
  {
    id: 'smileys',
    emoji: split(
      '😀 😃 😄 😁 😆 😅 🤣 😂 🙂 😉 😊 😇 🥰 😍 🤩 😘 😋 😛 😜 🤪 🤗 🤭 🤫 🤔 🤐 😐 😑 😶 😏 😒 🙄 😬 😌 😔 😪 😴 😷 🤒 🤕 🤢 🥵 🥶 😵 🤯 🥳 😎 🤓 😕 😟 🙁 😮 😯 😲 😳 🥺 😦 😧 😨 😰 😥 😢 😭 😱 😖 😣 😞 😓 😩 😫 🥱 😤 😡 😠 🤬 😈 💀 💩 🤡 👻 👽 🤖',
    ),
  },
  {
    id: 'gestures',
    emoji: split('👍 👎 👌 ✌️ 🤞 🤟 🤘 🤙 👈 👉 👆 👇 ☝️ ✋ 🤚 🖐️ 🖖 👋 👏 🙌 👐 🤲 🤝 🙏 💪 ✍️ 👀 🧠'),
  },
  {
    id: 'symbols',
    emoji: split('❤️ 🧡 💛 💚 💙 💜 🖤 🤍 🤎 💔 💯 💢 💥 💫 💦 💨 💬 💭 💤 ✅ ❌ ❓ ❗ ⚠️ 🔥 ✨ ⭐ 🌟 ⚡ 🆗 🆒 🆕'),
  },
  {
    id: 'objects',
    emoji: split('🎉 🎊 🎈 🎁 🏆 🥇 🎯 🚀 💡 📌 📎 📝 📅 ⏰ 🔔 🔒 🔑 💻 📱 ☕ 🍵 🍺 🍻 🍰 🎂 🍕 🍜 🍚 🥟 🍎 🌈 ☀️ 🌙 ☔ ❄️ 🌸'),
  },
  {
    id: 'animals',
    emoji: split('🐶 🐱 🐭 🐹 🐰 🦊 🐻 🐼 🐨 🐯 🦁 🐮 🐷 🐸 🐵 🙈 🙉 🙊 🐔 🐧 🐦 🦆 🦉 🐺 🐴 🦄 🐝 🐛 🦋 🐢 🐍 🐙 🐬 🐳'),
  },
]
