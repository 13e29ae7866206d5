// The functions an error names are read from the .baml sources: what the scan must get right.
import { describe, expect, it } from "@effect/vitest"
import { declarations } from "../src/core/engine/declarations.js"
import { explain } from "../src/core/errors/engineError.js"

describe("declarations", () => {
  it("reads each function's parameters and BAML types, skipping comments and prompts that mention functions", () => {
    const found = declarations({
      "a.baml": [
        "// function Commented(x: int) -> int {",
        "function Describe(profile: Profile, limits: map<string, float>, choice: \"a, b\" | \"c\", note: string?) -> X {",
        "  client C",
        "  prompt #\"",
        "    function InPrompt(y: int) -> int {",
        "  \"#",
        "}",
        "function Answer() -> \"yes\" | \"no\" {",
        "}"
      ].join("\n")
    })
    expect([...found.keys()]).toEqual(["Describe", "Answer"])
    expect(found.get("Describe")).toEqual([
      { name: "profile", type: "Profile" },
      { name: "limits", type: "map<string, float>" },
      { name: "choice", type: "\"a, b\" | \"c\"" },
      { name: "note", type: "string?" }
    ])
    expect(found.get("Answer")).toEqual([])
  })

  it("an engine report is explained with them; other reports pass through unchanged", () => {
    const call = { functionName: "Count", declarations: declarations({ "c.baml": "function Count(n: int) -> int {}" }) }
    const wrong = explain({
      _tag: "BamlInvalidArgumentError",
      message: "  Error: n: Expected type Int, got `Number(1.5)`\n"
    }, call)
    expect(wrong.message).toBe("Invalid arguments for Count (it takes n: int): n: expected int, got a number")
    const unknown = explain({ _tag: "BamlRuntimeError", message: "function 'Cuont' not found" }, call)
    expect(unknown.message).toBe("There is no BAML function \"Cuont\" in baml_src. Its functions, closest first: Count")
    const other = { _tag: "BamlClientError", message: "something else" } as const
    expect(explain(other, call)).toBe(other)
  })
})
