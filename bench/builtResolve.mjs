// The resolve hook bench/built.mjs installs (see there).
const root = new URL("../", import.meta.url)
const harness = new URL("bench/", root).href
const source = new URL("src/", root).href
const built4 = new URL("dist/effect4/", root).href
const built3 = new URL("dist/effect3/", root).href
const driver = new URL("effect3/bench/", root).href
const entries = {
  "effect-baml/effect3": "dist/effect3/index.effect3.js",
  "effect-baml/effect3/testing": "dist/effect3/testing/index.js"
}
const fromEffect3 = new URL("effect3/package.json", root).href
const effectPackage = /^(?:effect|@effect\/[\w-]+)(?:\/|$)/

export async function resolve(specifier, context, next) {
  const parent = context.parentURL ?? ""
  if (parent.startsWith(harness) && specifier.startsWith(".")) {
    const url = new URL(specifier, parent).href
    if (url.startsWith(source)) return next(built4 + url.slice(source.length).replace(/\.ts$/, ".js"), context)
    return next(specifier, context)
  }
  if (!parent.startsWith(built3) && !parent.startsWith(driver)) return next(specifier, context)
  if (Object.hasOwn(entries, specifier)) return next(new URL(entries[specifier], root).href, context)
  if (effectPackage.test(specifier)) return next(specifier, { ...context, parentURL: fromEffect3 })
  return next(specifier, context)
}
