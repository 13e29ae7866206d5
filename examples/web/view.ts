/**
 * The web example's page, without Effect: rendering a resume as it streams in, the page's state, and what the
 * server's LLM provider saw. Both Effect lines' `app.ts` drive it.
 */
/**
 * What the view reads of a resume, partial or final: a structural type, so that the same view serves the client of
 * either Effect line (`Schemas.ResumePartial` of each line's generated `schemas.ts` fits it, and so does a final one).
 */
export interface ResumeView {
  readonly name?: string | null | undefined
  readonly email?: string | null | undefined
  readonly skills?: ReadonlyArray<string> | undefined
  readonly experience?:
    | ReadonlyArray<{
      readonly title?: string | null | undefined
      readonly company?: string | null | undefined
      readonly years?: number | null | undefined
    }>
    | undefined
}

const $ = (id: string): HTMLElement => document.getElementById(id)!

const entities: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;" }
const escape = (text: unknown) => String(text).replace(/[&<>"]/g, (c) => entities[c]!)
const value = (v: unknown) => v === null || v === undefined || v === "" ? "<span class=\"pending\">…</span>" : escape(v)

let seenSkills = 0
let partials = 0

/** The page's controls and the arguments they say. */
export const controls = {
  start: () => $("start"),
  stop: () => $("stop"),
  unmount: () => $("unmount"),
  resume: () => ($("resume") as HTMLTextAreaElement).value,
  format: (): "sse" | "ndjson" => ($("transport") as HTMLSelectElement).value === "ndjson" ? "ndjson" : "sse"
}

/** A fresh result view: the component that a generation renders into, mounted in `#result`. */
export const mount = () => {
  partials = 0
  seenSkills = 0
  $("result").innerHTML = "<div id=\"view\"></div>"
  $("count").textContent = ""
  $("upstream").textContent = ""
}

/** Removes the result view, as a framework removes an unmounted component. */
export const unmount = () => {
  $("result").innerHTML = ""
}

/** Renders a resume, partial or final (a final resume fits the partial type). */
export const render = (resume: ResumeView, final: boolean) => {
  const view = document.getElementById("view")
  if (view === null) return
  if (!final) {
    partials++
    $("count").textContent = `· partial ${partials}`
  }
  const skills = resume.skills ?? []
  const jobs = resume.experience ?? []
  view.innerHTML = [
    `<div class="field"><div class="label">name</div><div id="name">${value(resume.name)}</div></div>`,
    `<div class="field"><div class="label">email</div><div>${value(resume.email)}</div></div>`,
    `<div class="field"><div class="label">skills (${skills.length})</div><div class="chips" id="skills">${
      skills.map((s, i) => `<span class="chip${i >= seenSkills ? " new" : ""}">${escape(s)}</span>`).join("") ||
      "<span class=\"pending\">…</span>"
    }</div></div>`,
    `<div class="field"><div class="label">experience (${jobs.length})</div><div id="jobs">${
      jobs.map((j) =>
        `<div class="job"><span class="title">${value(j.title)}</span>
          <span class="meta">· ${value(j.company)}${j.years == null ? "" : ` · ${escape(j.years)} yrs`}</span></div>`
      ).join("") || "<span class=\"pending\">…</span>"
    }</div></div>`
  ].join("")
  seenSkills = skills.length
  $("raw").textContent = JSON.stringify(resume, null, 2)
}

/** Shows an error: its tag and message, and the `BamlError` class it was decoded into (`data-error-class`). */
export const showError = (tag: string, message: string, errorClass: string | undefined) => {
  const view = document.getElementById("view")
  if (view !== null) view.innerHTML = `<div class="error">${escape(tag)}: ${escape(message)}</div>`
  document.body.dataset.errorClass = errorClass ?? ""
}

/** The page's state: idle, streaming, done, stopped, unmounted or error. */
export const setState = (state: string, text?: string) => {
  document.body.dataset.state = state
  $("status").textContent = text ??
    (state === "done"
      ? `Done: ${partials} partials, then the final result.`
      : state === "stopped"
      ? `Stopped after ${partials} partials.`
      : state === "unmounted"
      ? `Unmounted after ${partials} partials.`
      : "Streaming…")
  controls.start().toggleAttribute("disabled", state === "streaming")
  controls.stop().toggleAttribute("disabled", state !== "streaming")
  controls.unmount().toggleAttribute("disabled", state !== "streaming")
  if (state !== "streaming") setTimeout(showUpstream, 150)
}

// What the server's LLM provider saw for the last request: the proof that Stop saves tokens.
const showUpstream = async () => {
  try {
    const records = await (await fetch("/api/requests")).json() as ReadonlyArray<Record<string, unknown>>
    const last = records[records.length - 1]
    if (last === undefined) return
    $("upstream").innerHTML = `Upstream LLM request #${escape(last.id)}: <b>${escape(last.status)}</b>, ` +
      `${escape(last.sent)} of ${escape(last.planned)} chunks generated`
  } catch {
    // the server is gone: nothing to show
  }
}
