// The benchmark runs both Effect lines in one process, side by side, each as users get it: built (`npm run build`:
// dist/effect4 and dist/effect3), not compiled as it loads (tsx keeps function names by giving every named function a
// `name` property of its own: measured, 2.5 KB more heap per open stream on the Effect 4 line). The harness itself runs
// from source on Effect 4. This hook makes the harness's imports of the Effect 4 line (`../src/...`) load dist/effect4,
// and makes the Effect 3 line's driver (effect3/bench/) and the built line import `effect-baml/effect3` from
// dist/effect3, and Effect's packages from effect3/node_modules:
//   node --expose-gc --import tsx --import ./bench/built.mjs bench/run.ts
import { register } from "node:module"

register("./builtResolve.mjs", import.meta.url)
