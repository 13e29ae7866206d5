// The resolve hook that effect3/register.mjs installs (see there).
const root = new URL("../", import.meta.url)
const kit = new URL("src/kit/effect3/", root)
const entries = {
  "effect-baml/effect3": "src/index.effect3.ts",
  "effect-baml/effect3/testing": "src/testing/index.ts",
  "effect-baml/effect3/client": "src/client/index.ts"
}
const fromEffect3 = new URL("effect3/package.json", root).href
const effectPackage = /^(?:effect|@effect\/[\w-]+)(?:\/|$)/

export async function resolve(specifier, context, next) {
  if (specifier === "#kit") return next(new URL("index.ts", kit).href, context)
  if (specifier.startsWith("#kit/")) return next(new URL(`${specifier.slice(5)}.ts`, kit).href, context)
  if (Object.hasOwn(entries, specifier)) return next(new URL(entries[specifier], root).href, context)
  if (effectPackage.test(specifier) && context.parentURL !== undefined && !context.parentURL.includes("/node_modules/")) {
    return next(specifier, { ...context, parentURL: fromEffect3 })
  }
  return next(specifier, context)
}
