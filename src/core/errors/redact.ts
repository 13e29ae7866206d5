// Engine errors quote what the provider answered, and a provider (or a proxy in front of it) may echo the request's
// headers, API key included. Errors cross HTTP to browsers and end up in logs, so credentials are removed from them.

const REDACTED = "<redacted>"

// The variables baml_src reads API keys from are named like OPENAI_API_KEY or AWS_SECRET_ACCESS_KEY; other values
// (base URLs, model names) help a reader and are kept.
const secretName = /key|token|secret|passw|credential|auth/i

// Keys given in a ClientRegistry cannot be read back from the engine (its `buildRequest` could show them, but it
// caches the client it builds, which changes later calls), so they are recognised by where they stand: after a bearer
// scheme, in a credential header or option, or in a well-known key format.
const bearer = /\b(Bearer|Basic)\s+[\w.~+/=-]+/gi
const credentialName =
  "authorization|x-api-key|api-key|api_key|apikey|x-goog-api-key|access_token|secret_access_key|session_token"
// the name, then `: "`, `=`, or a space and a quote (as a .baml file writes it), then the value
const credentialField = new RegExp(
  `\\b(${credentialName})(["']?(?:\\s*[:=]\\s*["']?|\\s+["']))(?!Bearer\\s|Basic\\s)[^\\s"'\\\\,;&}]+`,
  "gi"
)
const knownKeys = /\b(?:sk-[\w-]{16,}|AIza[\w-]{35})/g

/** The values of `env` that look like credentials. */
export const secretsOf = (env: Readonly<Record<string, string | undefined>> | undefined): ReadonlyArray<string> =>
  Object.entries(env ?? {}).flatMap(([name, value]) => value !== undefined && secretName.test(name) ? [value] : [])

/** Removes `secrets` and anything that looks like a credential from `text`. */
export const redact = (text: string, secrets: ReadonlyArray<string>): string => {
  let out = text
  // longest first, so that a secret is never partly replaced because a shorter one is part of it
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length >= 8) out = out.split(secret).join(REDACTED)
  }
  return out
    .replace(bearer, `$1 ${REDACTED}`)
    .replace(credentialField, `$1$2${REDACTED}`)
    .replace(knownKeys, REDACTED)
}

// A message names what went wrong; the prompt, the model's reply and the call's arguments are the user's data, kept
// in the fields that are there for them (`prompt`, `rawOutput`). Strings shorter than this are not searched for:
// they would match ordinary words of the message.
const shortest = 8
const USER_DATA = "<user data>"

const strings = (value: unknown, into: Array<string>, depth: number): void => {
  if (typeof value === "string") into.push(value)
  else if (depth < 32 && Array.isArray(value)) for (const item of value) strings(item, into, depth + 1)
  else if (depth < 32 && typeof value === "object" && value !== null && !ArrayBuffer.isView(value)) {
    for (const item of Object.values(value)) strings(item, into, depth + 1)
  }
}

/**
 * The texts a message must not hold: the string values of `args` and the `more` texts (a prompt, a reply), each whole
 * and line by line, as written and as JSON or a Rust debug string escapes it.
 */
export const userDataOf = (args: unknown, more: ReadonlyArray<string> = []): ReadonlyArray<string> => {
  const found: Array<string> = []
  strings(args, found, 0)
  found.push(...more)
  const out = new Set<string>()
  for (const text of found) {
    for (const part of [text, ...text.split("\n")]) {
      const trimmed = part.trim()
      if (trimmed.length < shortest) continue
      out.add(trimmed)
      const escaped = JSON.stringify(trimmed).slice(1, -1)
      if (escaped !== trimmed) out.add(escaped)
    }
  }
  // longest first, so that a text is never partly replaced because a shorter one is part of it
  return [...out].sort((a, b) => b.length - a.length)
}

/** Replaces every text of `data` (from {@link userDataOf}) in `text`. */
export const scrubUserData = (text: string, data: ReadonlyArray<string>): string => {
  let out = text
  for (const item of data) if (out.includes(item)) out = out.split(item).join(USER_DATA)
  return out
}
