/** Emoji offered for reactions: a quick set and a grouped grid of common ones (no dependency). */

export const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢', '🙏', '👀'] as const

export interface EmojiGroup {
  name: string
  emoji: readonly string[]
}

const split = (s: string): string[] => s.split(' ').filter(Boolean)

export const EMOJI_GROUPS: readonly EmojiGroup[] = [
  {
    name: '表情',
    emoji: split(
      '😀 😃 😄 😁 😆 😅 🤣 😂 🙂 😉 😊 😇 🥰 😍 🤩 😘 😋 😛 😜 🤪 🤗 🤭 🤫 🤔 🤐 😐 😑 😶 😏 😒 🙄 😬 😌 😔 😪 😴 😷 🤒 🤕 🤢 🥵 🥶 😵 🤯 🥳 😎 🤓 😕 😟 🙁 😮 😯 😲 😳 🥺 😦 😧 😨 😰 😥 😢 😭 😱 😖 😣 😞 😓 😩 😫 🥱 😤 😡 😠 🤬 😈 💀 💩 🤡 👻 👽 🤖',
    ),
  },
  {
    name: '手势',
    emoji: split('👍 👎 👌 ✌️ 🤞 🤟 🤘 🤙 👈 👉 👆 👇 ☝️ ✋ 🤚 🖐️ 🖖 👋 👏 🙌 👐 🤲 🤝 🙏 💪 ✍️ 👀 🧠'),
  },
  {
    name: '心与符号',
    emoji: split('❤️ 🧡 💛 💚 💙 💜 🖤 🤍 🤎 💔 💯 💢 💥 💫 💦 💨 💬 💭 💤 ✅ ❌ ❓ ❗ ⚠️ 🔥 ✨ ⭐ 🌟 ⚡ 🆗 🆒 🆕'),
  },
  {
    name: '庆祝与物品',
    emoji: split('🎉 🎊 🎈 🎁 🏆 🥇 🎯 🚀 💡 📌 📎 📝 📅 ⏰ 🔔 🔒 🔑 💻 📱 ☕ 🍵 🍺 🍻 🍰 🎂 🍕 🍜 🍚 🥟 🍎 🌈 ☀️ 🌙 ☔ ❄️ 🌸'),
  },
  {
    name: '动物',
    emoji: split('🐶 🐱 🐭 🐹 🐰 🦊 🐻 🐼 🐨 🐯 🦁 🐮 🐷 🐸 🐵 🙈 🙉 🙊 🐔 🐧 🐦 🦆 🦉 🐺 🐴 🦄 🐝 🐛 🦋 🐢 🐍 🐙 🐬 🐳'),
  },
]
