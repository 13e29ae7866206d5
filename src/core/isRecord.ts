// For the modules without Effect (Effect's own `Predicate.isRecord` is for the rest).

/** Whether `u` is an object whose keys can be read (arrays included: callers read named keys only). */
export const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null
