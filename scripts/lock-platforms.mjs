// The registry these machines reach serves only the engine's linux-x64-gnu native package, so npm leaves the other
// platforms' optional packages out of package-lock.json, and `npm ci` then refuses the lock. This adds their entries
// (platform-only: npm skips them on a machine of another platform, and they are optional elsewhere too).
// Run after any `npm install`: node scripts/lock-platforms.mjs
import { readFileSync, writeFileSync } from "node:fs"

const platforms = {
  "darwin-arm64": { os: ["darwin"], cpu: ["arm64"] },
  "darwin-x64": { os: ["darwin"], cpu: ["x64"] },
  "linux-arm64-gnu": { os: ["linux"], cpu: ["arm64"], libc: ["glibc"] },
  "linux-arm64-musl": { os: ["linux"], cpu: ["arm64"], libc: ["musl"] },
  "linux-x64-gnu": { os: ["linux"], cpu: ["x64"], libc: ["glibc"] },
  "linux-x64-musl": { os: ["linux"], cpu: ["x64"], libc: ["musl"] },
  "win32-arm64-msvc": { os: ["win32"], cpu: ["arm64"] },
  "win32-x64-msvc": { os: ["win32"], cpu: ["x64"] }
}

const lock = JSON.parse(readFileSync("package-lock.json", "utf8"))
const engine = lock.packages["node_modules/@boundaryml/baml"]
let added = 0
for (const [name, version] of Object.entries(engine.optionalDependencies ?? {})) {
  const key = `node_modules/${name}`
  if (lock.packages[key] !== undefined) continue
  const platform = platforms[name.replace("@boundaryml/baml-", "")]
  if (platform === undefined) throw new Error(`unknown platform package ${name}`)
  lock.packages[key] = { version, ...platform, license: "MIT", optional: true, engines: { node: ">= 10" } }
  added++
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => a === "" ? -1 : b === "" ? 1 : a.localeCompare(b)))
writeFileSync("package-lock.json", JSON.stringify(lock, null, 2) + "\n")
console.log(`package-lock.json: ${added} platform entries added`)
