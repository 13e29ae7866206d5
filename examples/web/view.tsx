/**
 * The web example's React app, without Effect: the page's controls, a `<Generation>` component that streams a resume
 * with the hook it is given (each line's app.tsx gives `useBamlStream` over its generated `http.ts`), and what the
 * server's LLM provider saw. Rendered under StrictMode, as a React app in development is: the first mount's request
 * is aborted, and the second one renders.
 */
import { type ReactNode, StrictMode, useEffect, useRef, useState } from "react"
import { createRoot } from "react-dom/client"

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

/** What the view reads of `useBamlStream`'s result, and the name of the `BamlError` class an error was decoded into. */
export interface Extraction {
  readonly status: "idle" | "streaming" | "done" | "error" | "stopped"
  readonly partial: ResumeView | undefined
  readonly final: ResumeView | undefined
  readonly error: { readonly _tag: string; readonly message: string } | undefined
  readonly errorClass: string | undefined
  readonly start: (resume: string, format: "sse" | "ndjson") => void
  readonly stop: () => void
}

/** The hook a line's app gives: ExtractResume over SSE or NDJSON, started on mount and aborted on unmount. */
export type UseExtraction = (resume: string, format: "sse" | "ndjson") => Extraction

type Format = "sse" | "ndjson"

/**
 * The options of a request of the page: its format, and with `?resume=<milliseconds>` in the page's URL, a response
 * that survives a dropped connection for that long (the server serves resumable responses).
 */
export const requestOptions = (format: Format): { readonly format: Format; readonly resume?: { readonly within: number } } => {
  const within = new URLSearchParams(location.search).get("resume")
  return within === null ? { format } : { format, resume: { within: Number(within) } }
}
type PageState = Extraction["status"] | "unmounted"

const sample = `Maya Okafor — maya.okafor@example.com

Staff Software Engineer, Northwind Labs (3 years)
Senior Backend Engineer, Contoso Payments (4 years)
Software Engineer, Data Platform, Fabrikam Analytics (2 years)
Full-Stack Developer, Tailspin Travel (2 years)
Teaching Assistant, Algorithms, University of Lagos (1 year)

Skills: TypeScript, Effect, Node.js, Rust, Go, Python, PostgreSQL, Redis, Kafka, gRPC, GraphQL, REST API design,
React, Docker, Kubernetes, Terraform, AWS, Linux, distributed systems, event sourcing, observability,
OpenTelemetry, CI/CD, property-based testing, performance tuning, LLM integration, technical writing, mentoring,
incident response, public speaking.`

const Pending = () => <span className="pending">…</span>

const Value = ({ value }: { readonly value: unknown }) =>
  value === null || value === undefined || value === "" ? <Pending /> : <>{String(value)}</>

const Field = ({ label, children }: { readonly label: string; readonly children: ReactNode }) => (
  <div className="field">
    <div className="label">{label}</div>
    {children}
  </div>
)

/** A resume, partial or final (a final resume fits the partial type). */
const Resume = ({ resume, seenSkills }: { readonly resume: ResumeView; readonly seenSkills: number }) => {
  const skills = resume.skills ?? []
  const jobs = resume.experience ?? []
  return (
    <div id="view">
      <Field label="name">
        <div id="name"><Value value={resume.name} /></div>
      </Field>
      <Field label="email">
        <div><Value value={resume.email} /></div>
      </Field>
      <Field label={`skills (${skills.length})`}>
        <div className="chips" id="skills">
          {skills.length === 0
            ? <Pending />
            : skills.map((skill, i) => <span key={i} className={i >= seenSkills ? "chip new" : "chip"}>{skill}</span>)}
        </div>
      </Field>
      <Field label={`experience (${jobs.length})`}>
        <div id="jobs">
          {jobs.length === 0 ? <Pending /> : jobs.map((job, i) => (
            <div key={i} className="job">
              <span className="title"><Value value={job.title} /></span>{" "}
              <span className="meta">
                · <Value value={job.company} />
                {job.years == null ? "" : ` · ${job.years} yrs`}
              </span>
            </div>
          ))}
        </div>
      </Field>
    </div>
  )
}

/** What a generation tells the page: its state, how many partials it rendered, and how to stop it. */
interface Report {
  readonly status: Extraction["status"]
  readonly partials: number
  readonly error: string | undefined
  readonly start: (resume: string, format: Format) => void
  readonly stop: () => void
}

/**
 * A generation: mounted by Extract, restarted by Extract with new arguments while it runs (which aborts its request),
 * removed by Unmount (which aborts it too, as any unmount does).
 */
const Generation = ({ resume, format, useExtraction, report }: {
  readonly resume: string
  readonly format: Format
  readonly useExtraction: UseExtraction
  readonly report: (report: Report) => void
}) => {
  const extraction = useExtraction(resume, format)
  const [partials, setPartials] = useState(0)
  const seenSkills = useRef(0)
  const shown = extraction.final ?? extraction.partial
  useEffect(() => {
    setPartials((n) => extraction.partial === undefined ? 0 : n + 1)
  }, [extraction.partial])
  useEffect(() => {
    seenSkills.current = shown?.skills?.length ?? 0
  }, [shown])
  useEffect(() => {
    report({
      status: extraction.status,
      partials,
      error: extraction.error?._tag,
      start: extraction.start,
      stop: extraction.stop
    })
    document.body.dataset.errorClass = extraction.errorClass ?? ""
  }, [extraction.status, partials])
  return (
    <>
      {extraction.error !== undefined
        ? <div id="view"><div className="error">{extraction.error._tag}: {extraction.error.message}</div></div>
        : <Resume resume={shown ?? {}} seenSkills={seenSkills.current} />}
      <details>
        <summary>Latest JSON</summary>
        <pre id="raw">{shown === undefined ? "—" : JSON.stringify(shown, null, 2)}</pre>
      </details>
    </>
  )
}

const statusText = (state: PageState, partials: number, error: string | undefined) =>
  state === "idle"
    ? "Ready."
    : state === "done"
    ? `Done: ${partials} partials, then the final result.`
    : state === "stopped"
    ? `Stopped after ${partials} partials.`
    : state === "unmounted"
    ? `Unmounted after ${partials} partials.`
    : state === "error"
    ? `Failed with ${error}.`
    : "Streaming…"

/** What the server's LLM provider saw of the last request: the proof that Stop saves tokens. */
const useUpstream = (state: PageState) => {
  const [upstream, setUpstream] = useState("")
  useEffect(() => {
    if (state === "idle" || state === "streaming") return setUpstream("")
    const timer = setTimeout(async () => {
      try {
        const records = await (await fetch("/api/requests")).json() as ReadonlyArray<Record<string, unknown>>
        const last = records[records.length - 1]
        if (last !== undefined) {
          setUpstream(
            `Upstream LLM request #${last.id}: ${last.status}, ${last.sent} of ${last.planned} chunks generated`
          )
        }
      } catch {
        // the server is gone: nothing to show
      }
    }, 150)
    return () => clearTimeout(timer)
  }, [state])
  return upstream
}

const App = ({ useExtraction }: { readonly useExtraction: UseExtraction }) => {
  const text = useRef<HTMLTextAreaElement>(null)
  const transport = useRef<HTMLSelectElement>(null)
  const [run, setRun] = useState<{ readonly id: number; readonly resume: string; readonly format: Format }>()
  const [report, setReport] = useState<Report>()
  const [unmounted, setUnmounted] = useState(false)
  const state: PageState = unmounted ? "unmounted" : report?.status ?? "idle"
  const upstream = useUpstream(state)
  const streaming = state === "streaming"
  useEffect(() => {
    document.body.dataset.state = state
  }, [state])

  const start = () => {
    const resume = text.current!.value
    const format = transport.current!.value === "ndjson" ? "ndjson" : "sse"
    if (streaming && report !== undefined) return report.start(resume, format)
    setUnmounted(false)
    setReport(undefined)
    setRun({ id: (run?.id ?? 0) + 1, resume, format })
  }
  const unmount = () => {
    setRun(undefined)
    setUnmounted(true)
  }
  return (
    <>
      <section className="card">
        <h2>Resume</h2>
        <textarea id="resume" spellCheck={false} ref={text} defaultValue={sample} />
        <div className="controls">
          <button id="start" onClick={start}>{streaming ? "Restart" : "Extract"}</button>
          <button id="stop" disabled={!streaming} onClick={() => report?.stop()}>Stop</button>
          <button
            id="unmount"
            disabled={!streaming}
            onClick={unmount}
            title="Removes the result view, as a framework unmounts a component"
          >
            Unmount
          </button>
          <select id="transport" title="How the response is read" ref={transport}>
            <option value="sse">Server-Sent Events</option>
            <option value="ndjson">NDJSON</option>
          </select>
        </div>
        <div className="status">
          <span className="dot"></span>
          <span id="status">{statusText(state, report?.partials ?? 0, report?.error)}</span>
        </div>
        <div className="upstream" id="upstream">{upstream}</div>
      </section>
      <section className="card">
        <h2>Result <span id="count">{report !== undefined && report.partials > 0 ? `· partial ${report.partials}` : ""}</span></h2>
        <div id="result">
          {run !== undefined && (
            <Generation
              key={run.id}
              resume={run.resume}
              format={run.format}
              useExtraction={useExtraction}
              report={setReport}
            />
          )}
        </div>
      </section>
    </>
  )
}

/** Renders the app into the page's `#root`, under StrictMode. */
export const mount = (useExtraction: UseExtraction) =>
  createRoot(document.getElementById("root")!).render(
    <StrictMode>
      <App useExtraction={useExtraction} />
    </StrictMode>
  )
