// The resolve hook bench/effect3.mjs installs (see there).
const root = new URL("../", import.meta.url)
const built = new URL("dist/effect3/", root).href
const driver = new URL("effect3/bench/", root).href
const entries = {
  "effect-baml/effect3": "dist/effect3/index.effect3.js",
  "effect-baml/effect3/testing": "dist/effect3/testing/index.js"
}
const fromEffect3 = new URL("effect3/package.json", root).href
const effectPackage = /^(?:effect|@effect\/[\w-]+)(?:\/|$)/

export async function resolve(specifier, context, next) {
  const parent = context.parentURL ?? ""
  if (!parent.startsWith(built) && !parent.startsWith(driver)) return next(specifier, context)
  if (Object.hasOwn(entries, specifier)) return next(new URL(entries[specifier], root).href, context)
  if (effectPackage.test(specifier)) return next(specifier, { ...context, parentURL: fromEffect3 })
  return next(specifier, context)
}
