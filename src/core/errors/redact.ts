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
