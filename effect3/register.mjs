// Runs the Effect 3 line from source in Node (after tsx): `node --import tsx --import ./effect3/register.mjs file.ts`.
// The modules in src/ are written once for both Effect lines; this resolves them as the Effect 3 line's build does:
// `#kit` to the Effect 3 kit, `effect-baml/effect3` to its entry, and Effect's packages imported from this repository's
// own files to the Effect 3 ones installed in effect3/node_modules (packages keep resolving their own imports).
import { register } from "node:module"

register("./resolve.mjs", import.meta.url)
