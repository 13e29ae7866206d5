/** Redaction (src/core/errors/redact.ts, shared by both lines): what is removed from engine errors, and what is kept. */
import { describe, expect, it } from "@effect/vitest"
import { redact, secretsOf } from "../src/core/errors/redact.js"

describe("redaction", () => {
  it("the secrets of an environment are the values of its credential-like names", () => {
    const env = {
      OPENAI_API_KEY: "k1",
      GITHUB_TOKEN: "t1",
      AWS_SECRET_ACCESS_KEY: "s1",
      DB_PASSWORD: "p1",
      GCP_CREDENTIALS: "c1",
      PROXY_AUTH: "a1",
      lower_api_key: "k2",
      OPENAI_BASE_URL: "http://127.0.0.1",
      MODEL: "gpt-4o",
      UNSET_API_KEY: undefined
    }
    expect(secretsOf(env)).toEqual(["k1", "t1", "s1", "p1", "c1", "a1", "k2"])
    expect(secretsOf(undefined)).toEqual([])
  })

  it("removes every occurrence of each secret of 8 characters or more, and keeps shorter ones", () => {
    expect(redact("a 12345678 b 12345678 c", ["12345678"])).toBe("a <redacted> b <redacted> c")
    // a 7-character value (a port, a short id) is too common to remove
    expect(redact("a 1234567 b", ["1234567"])).toBe("a 1234567 b")
    expect(redact("nothing here", [])).toBe("nothing here")
  })

  it("removes the longest secret first, so none is left in part", () => {
    expect(redact("x abcdefgh12345678 y", ["abcdefgh", "abcdefgh12345678"])).toBe("x <redacted> y")
    expect(redact("x abcdefgh12345678 y", ["abcdefgh12345678", "abcdefgh"])).toBe("x <redacted> y")
  })

  it("removes what follows a bearer or basic scheme, and keeps the scheme", () => {
    expect(redact("Authorization Bearer abc.DEF~+/=-x9 done", [])).toBe("Authorization Bearer <redacted> done")
    expect(redact("basic dXNlcjpwYXNz end", [])).toBe("basic <redacted> end")
    // a word that merely ends in "bearer" is not a scheme
    expect(redact("cupbearer wine", [])).toBe("cupbearer wine")
  })

  it("removes the value of a credential header or option, written as JSON, a header, a query or a .baml file", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      [`{"x-api-key": "abc123", "next": 1}`, `{"x-api-key": "<redacted>", "next": 1}`],
      [`{"api-key":"abc123"}`, `{"api-key":"<redacted>"}`],
      [`api_key "abc123" other`, `api_key "<redacted>" other`],
      [`api_key 'abc123'`, `api_key '<redacted>'`],
      [`?apikey=abc123&x=1`, `?apikey=<redacted>&x=1`],
      [`x-goog-api-key: abc123; next`, `x-goog-api-key: <redacted>; next`],
      [`access_token=abc123,`, `access_token=<redacted>,`],
      [`SECRET_ACCESS_KEY = abc123}`, `SECRET_ACCESS_KEY = <redacted>}`],
      [`session_token:abc123\\n`, `session_token:<redacted>\\n`],
      [`Authorization: abc123 tail`, `Authorization: <redacted> tail`]
    ]
    for (const [text, expected] of cases) expect(redact(text, [])).toBe(expected)
  })

  it("a credential header whose value is a bearer token keeps the scheme and loses the token", () => {
    expect(redact(`authorization: Bearer abc123`, [])).toBe("authorization: Bearer <redacted>")
    expect(redact(`"Authorization": "Basic abc123"`, [])).toBe(`"Authorization": "Basic <redacted>"`)
  })

  it("a name that only contains a credential name, or stands without a value, is kept", () => {
    expect(redact("my_api_keys: [1]", [])).toBe("my_api_keys: [1]")
    expect(redact("the api-key header was missing", [])).toBe("the api-key header was missing")
  })

  it("removes keys in the well-known formats, wherever they stand", () => {
    const openai = "sk-proj-abcdefghij012345"
    const google = `AIza${"a".repeat(30)}-_b12`
    expect(redact(`key ${openai} and ${google}.`, [])).toBe("key <redacted> and <redacted>.")
    // too short to be a key
    expect(redact("sk-short-123", [])).toBe("sk-short-123")
    expect(redact(`AIza${"a".repeat(34)}`, [])).toBe(`AIza${"a".repeat(34)}`)
    // part of a longer word
    expect(redact("task-abcdefghij0123456789", [])).toBe("task-abcdefghij0123456789")
  })
})
