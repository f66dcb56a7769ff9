// Fallback worker-thread entry of the chunk pipeline, used only when worker-entry.ts cannot bundle worker-impl.ts
// (no esbuild). It is plain JavaScript so that Node can start it in any host:
// under the CLI (already running under tsx, whose loader the worker inherits) `.ts` imports just work; under
// vitest or plain node they fail with ERR_UNKNOWN_FILE_EXTENSION, and tsx's ESM loader is registered first.
const impl = new URL("./worker-impl.ts", import.meta.url).href;
try {
  await import(impl);
} catch (e) {
  if (e?.code !== "ERR_UNKNOWN_FILE_EXTENSION") throw e;
  const { register } = await import("tsx/esm/api");
  register();
  // A new URL: the failed import above is cached for the plain one.
  await import(`${impl}?tsx`);
}
