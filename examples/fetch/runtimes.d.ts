// What bun.ts and deno.ts use of Bun's and Deno's globals; in a project of one of them, its own types declare these
// (`@types/bun`, Deno's built-in types).
declare const Bun: {
  serve(options: { port: number; fetch: (request: Request) => Promise<Response> }): { readonly url: URL }
}
declare const Deno: {
  readonly env: { get(name: string): string | undefined }
  serve(
    options: { port: number; onListen?: (address: { readonly port: number }) => void },
    handler: (request: Request) => Promise<Response>
  ): unknown
}
