// The tests read baml_src and examples relative to the working directory, the repository root. A mutation run starts
// vitest from effect3/ (to load effect3's own vitest): each test worker moves to the root first.
import { fileURLToPath } from "node:url"

process.chdir(fileURLToPath(new URL("../../..", import.meta.url)))
