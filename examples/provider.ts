/**
 * Which provider the examples use. The scripted one, offline, unless you opt in to a real one by name:
 * `EFFECT_BAML_REAL_PROVIDER=openai` uses the OpenAI client from baml_src (and needs OPENAI_API_KEY). An API key in
 * the environment alone changes nothing: the examples never spend tokens you did not ask them to.
 */
export interface Provider {
  /** The BAML client to call with (`{ client }`), or undefined for the functions' own (the scripted one). */
  readonly client: string | undefined
  /** One line for the terminal: which provider answers, and how to choose the other. */
  readonly banner: string
}

export const variable = "EFFECT_BAML_REAL_PROVIDER"

export const chosen = (env: Readonly<Record<string, string | undefined>> = process.env): Provider => {
  const choice = env[variable] ?? ""
  if (choice === "") {
    return {
      client: undefined,
      banner: `Provider: the scripted provider from effect-baml/testing, on 127.0.0.1 (offline, no tokens spent; ` +
        `${variable}=openai uses OpenAI)`
    }
  }
  if (choice !== "openai") throw new Error(`${variable}=${choice}: the examples know "openai" only`)
  if ((env.OPENAI_API_KEY ?? "") === "") throw new Error(`${variable}=openai needs OPENAI_API_KEY`)
  return { client: "OpenAI", banner: `Provider: OpenAI (gpt-4o-mini), because ${variable}=openai: this spends tokens` }
}
