/**
 * effect-baml in one run, offline: a BAML function as an Effect Stream, served by the scripted provider from
 * effect-baml/testing (an OpenAI-compatible server on 127.0.0.1 that records what it sent).
 *
 * Part 1 streams ExtractResume and redraws the newest partial result as it arrives, then prints the final value.
 * Part 2 runs it again and stops after 600 ms: ending the stream aborts the HTTP request, and the provider's own
 * record shows how many tokens of the reply were never generated, and what they would have cost.
 *
 * The scripted provider answers even when OPENAI_API_KEY is set; EFFECT_BAML_REAL_PROVIDER=openai calls the OpenAI
 * client from baml_src/clients.baml instead (and spends tokens).
 */
import { Cause, Console, Effect, Exit, Fiber, Layer, Option, Stream } from "effect"
import { Baml, BamlRuntime } from "effect-baml"
import { ScriptedProvider } from "effect-baml/testing"
import * as Client from "../baml_client/index.js"
import * as Provider from "./provider.js"

const reply = {
  name: "Maya Okafor",
  email: "maya.okafor@example.com",
  skills: [
    "TypeScript", "Effect", "Node.js", "Rust", "Go", "Python", "PostgreSQL", "Redis", "Kafka", "gRPC", "GraphQL",
    "REST API design", "React", "Next.js", "Docker", "Kubernetes", "Terraform", "AWS", "Google Cloud", "Linux",
    "Distributed systems", "Event sourcing", "Domain-driven design", "Observability", "OpenTelemetry", "Prometheus",
    "CI/CD", "GitHub Actions", "Property-based testing", "Performance tuning", "Streaming data pipelines",
    "LLM integration", "Prompt engineering", "Technical writing", "Code review", "Mentoring", "Incident response",
    "System design interviews", "Hiring", "Public speaking"
  ],
  experience: [
    { company: "Northwind Labs", title: "Staff Software Engineer", years: 3 },
    { company: "Contoso Payments", title: "Senior Backend Engineer", years: 4 },
    { company: "Fabrikam Analytics", title: "Software Engineer, Data Platform", years: 2 },
    { company: "Tailspin Travel", title: "Full-Stack Developer", years: 2 },
    { company: "Open-source maintainer (self-employed)", title: "Maintainer", years: null },
    { company: "University of Lagos", title: "Teaching Assistant, Algorithms", years: 1 }
  ]
}

// What the function reads: the same facts as a person would write them, so the scripted reply is an honest answer.
const resume = [
  `${reply.name} <${reply.email}>`,
  `Skills: ${reply.skills.join(", ")}`,
  ...reply.experience.map((job) => `${job.title}, ${job.company}${job.years === null ? "" : `, ${job.years} years`}`)
].join("\n")

const chosen = Provider.chosen()
const openAi = chosen.client !== undefined
const callOptions = chosen.client === undefined ? undefined : { client: chosen.client }
// About a token per chunk (English averages about four characters a token), at a fast model's pace.
const chunkSize = 3
// The price the demo states for what cancellation saved: dollars per million output tokens (a stated example price;
// gpt-4o's list price for output when this was written).
const pricePerMillionOutputTokens = 10
const script = ScriptedProvider.json(reply, { chunkSize, delayMs: 5 })

const Live = Layer.unwrap(Effect.map(ScriptedProvider.ScriptedProvider, (provider) =>
  // The .baml sources embedded in the generated client: no baml_src directory is read at run time.
  BamlRuntime.layerFromFiles(Client.files, {
    env: { ...process.env, SCRIPTED_BASE_URL: provider.baseUrl }
  }))).pipe(Layer.provideMerge(ScriptedProvider.layer({ rules: [{ script }] })))

// The typed client's partial type: fields are null (or missing) until their text arrives.
type Resume = Client.partial_types.Resume

const tty = process.stdout.isTTY === true
const width = () => Math.max(40, (process.stdout.columns ?? 100) - 1)
// A wrapped line would break the cursor arithmetic of the redraw.
const fit = (line: string) => line.length > width() ? `${line.slice(0, width() - 1)}…` : line
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`
const ms = (t: number) => t < 10 ? `${t.toFixed(1)} ms` : t < 1000 ? `${t.toFixed(0)} ms` : `${(t / 1000).toFixed(2)} s`
const counts = (r: Resume | undefined) =>
  `${plural(r?.skills?.length ?? 0, "skill")} and ${plural(r?.experience?.length ?? 0, "job")}`

const wrap = (items: ReadonlyArray<string>, indent: string): Array<string> => {
  const lines: Array<string> = []
  for (const item of items) {
    const last = lines.length - 1
    if (last >= 0 && lines[last]!.length + item.length + 3 < width()) lines[last] += `, ${item}`
    else lines.push(`${indent}${item}`)
  }
  return lines.map((line, i) => i < lines.length - 1 ? `${line},` : line)
}

const render = (r: Resume, full: boolean): Array<string> => [
  `  name        ${r.name ?? "…"}`,
  `  email       ${r.email ?? "…"}`,
  ...(full
    ? [`  skills (${r.skills.length})`, ...wrap(r.skills, "    ")]
    : [`  skills      ${r.skills.length}${r.skills.length > 3 ? " … " : "  "}${r.skills.slice(-3).join(", ")}`]),
  `  experience  ${plural(r.experience.length, "job")}`,
  ...r.experience.map(({ company, title, years }) =>
    `    ${title ?? "…"} · ${company ?? "…"}${years == null ? "" : ` · ${plural(years, "year")}`}`)
]

// One live view rather than a scrolling log: each frame moves back over the previous one and clears it.
const screen = () => {
  let height = 0
  return (lines: ReadonlyArray<string>) => {
    process.stdout.write(`${height > 0 ? `\x1b[${height}A` : ""}\r\x1b[0J${lines.map(fit).join("\n")}\n`)
    height = lines.length
  }
}

/** Shows a stream of events as it runs; returns the newest partial, the typed final value (if it came) and a count. */
const watch = <E, R>(
  stream: Stream.Stream<Baml.StreamEvent<Resume, Client.Resume>, E, R>,
  draw: (lines: ReadonlyArray<string>) => void
) =>
  Effect.gen(function*() {
    let last: Resume | undefined
    let final: Client.Resume | undefined
    let count = 0
    // Released on every exit, Ctrl-C included, so the terminal never keeps a hidden cursor.
    if (tty) {
      yield* Effect.acquireRelease(
        Effect.sync(() => process.stdout.write("\x1b[?25l")),
        () => Effect.sync(() => process.stdout.write("\x1b[?25h"))
      )
    }
    yield* stream.pipe(
      Stream.runForEach((event) =>
        Effect.sync(() => {
          // The final event carries the function's final type; partials carry its partial type.
          if (event._tag === "Final") final = event.value
          else count++
          last = event.value
          if (tty) draw(render(event.value, false))
          else if (count % 10 === 0 && event._tag === "Partial") console.log(`  partial ${count}: ${counts(event.value)}`)
        })
      )
    )
    return { last, final, count }
  }).pipe(Effect.scoped)

const main = Effect.gen(function*() {
  const provider = yield* ScriptedProvider.ScriptedProvider
  // A Stream is a description: each run below is a new request.
  const extract = Client.stream.ExtractResume(resume, callOptions)
  yield* Console.log(`${chosen.banner}\n`)

  const planned = Math.ceil(Array.from(script.reply).length / chunkSize)
  const source = openAi ? "OpenAI" : `a scripted reply of ${planned} chunks (about a token each), 5 ms apart`
  yield* Console.log(`Part 1: stream.ExtractResume(resume), ${source}`)
  const draw = screen()
  const one = yield* watch(extract, draw)
  const final = render(one.final!, true)
  yield* Effect.sync(() => tty ? draw(final) : console.log(final.join("\n")))
  yield* Console.log(`  ${plural(one.count, "partial")}, then the final value (a typed Client.Resume)`)
  if (!openAi) {
    const [record] = yield* provider.requests // completed: the call has returned
    const took = ms(record!.chunkTimes.at(-1)! - record!.startedAt)
    yield* Console.log(`  provider: ${record!.status}, generated all ${record!.sent} chunks in ${took}`)
  }

  yield* Console.log(`\nPart 2: the same call, ended after 600 ms by Stream.interruptWhen(Effect.sleep("600 millis"))`)
  let interruptedAt = 0
  const stop = Effect.sleep("600 millis").pipe(Effect.andThen(Effect.sync(() => (interruptedAt = performance.now()))))
  const two = yield* watch(extract.pipe(Stream.interruptWhen(stop)), screen())
  yield* Console.log(`  stopped after ${plural(two.count, "partial")}, with ${counts(two.last)} parsed`)
  if (openAi) return
  // The request the consumer left is closed a moment later, when the provider sees the connection go.
  const record = (yield* provider.settled)[1]!
  const unsent = record.planned - record.sent
  const saved = unsent * pricePerMillionOutputTokens / 1_000_000
  yield* Console.log(
    `  provider: ${record.status}, generated ${record.sent} of ${record.planned} chunks: ${unsent} tokens ` +
      `(${Math.round(100 * unsent / record.planned)}%) were never generated`
  )
  yield* Console.log(
    `  at $${pricePerMillionOutputTokens} per million output tokens, that is $${saved.toFixed(4)} not spent on this ` +
      `call, $${(saved * 1_000_000).toFixed(0)} per million such calls`
  )
  const closed = ms(record.closedAt! - interruptedAt)
  const after = plural(ScriptedProvider.chunksAfter(record, interruptedAt), "chunk")
  yield* Console.log(`  provider: saw the connection close ${closed} after the interrupt, and sent ${after} after it`)
}).pipe(Effect.provide(Live))

const fiber = Effect.runFork(main)
// Ctrl-C interrupts the fiber like any other interrupt: the open request is aborted, the provider and runtime close.
process.once("SIGINT", () => Effect.runFork(Fiber.interrupt(fiber)))
fiber.addObserver(Exit.match({
  onSuccess: () => {},
  onFailure: (cause) => {
    process.exitCode = Cause.hasInterruptsOnly(cause) ? 130 : 1
    console.error(Option.match(Cause.findErrorOption(cause), {
      onNone: () => Cause.hasInterruptsOnly(cause) ? "\ninterrupted" : Cause.pretty(cause),
      onSome: (error) => `\n${error._tag}: ${error.message}`
    }))
  }
}))
