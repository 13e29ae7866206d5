// The benchmark runs both Effect lines in one process, side by side: the harness and the Effect 4 line from source on
// Effect 4, and the Effect 3 line as users get it, built (`npm run build`: dist/effect3), on Effect 3. This hook makes
// the Effect 3 line's driver (effect3/bench/) and the built line import `effect-baml/effect3` from dist/effect3, and
// Effect's packages from effect3/node_modules:
//   node --expose-gc --import tsx --import ./bench/effect3.mjs bench/run.ts
import { register } from "node:module"

register("./effect3Resolve.mjs", import.meta.url)
