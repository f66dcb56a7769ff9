/**
 * `docker` jobs (docs/compatibility.md §5.4, without a Docker daemon): the image is pulled from its registry by the
 * converter itself and streamed layer by layer into the chunk store and one tree (converter/src/oci), then the
 * flist is written and published under the name the Worker chose (the original hub's naming, docs/compatibility.md §2).
 *
 * Progress: the engine's pull events (`Downloading layer i / n [x MB / y MB]`, 5..88) then build events
 * (`Building flist: …`, 90..98) go to the Worker as they come; `publish` ends with `Image ready !` (100).
 * Failures carry the engine's HTTP status (conversionErrorStatus: 404 unknown image or tag, 401 refused
 * credentials, 502 registry trouble, …) and its message, which never holds credentials.
 */
import path from "node:path";
import { writeFlist } from "../../flist/index.ts";
import { convertImage, conversionErrorStatus, RegistryError } from "../../oci/index.ts";
import { IngestError } from "../../ingest/index.ts";
import type { JobContext } from "../context.ts";
import { JobFailure } from "../errors.ts";
import type { DockerJob } from "../spec.ts";
import { publish } from "./publish.ts";

/**
 * Chunk worker threads of a docker job when CONVERTER_THREADS is not set. Layers arrive one at a time over the
 * network, so one thread keeps up (~200 MB image from a loopback registry: 2.2 s with 1 thread, 2.1 s with 2) while
 * each extra thread costs its own V8 heap and buffers (through the hub, peak converter RSS 232–261 MB with 1 thread,
 * 284–293 MB with 2): one keeps the converter clear of the 300 MB goal (bench/docker.bench.ts measures it).
 */
export const DOCKER_THREADS = 1;

export async function runDocker(ctx: JobContext, spec: DockerJob): Promise<void> {
  const store = await ctx.store();
  let result;
  try {
    result = await convertImage(spec.image, {
      store,
      threads: ctx.config.threads ?? DOCKER_THREADS,
      backend: ctx.config.backend,
      policy: ctx.config.registryPolicy,
      ...(spec.credentials !== undefined ? { credentials: spec.credentials } : {}),
      ...(spec.platform !== undefined ? { platform: spec.platform } : {}),
      ...(spec.startupToml !== undefined ? { startupToml: spec.startupToml } : {}),
      caps: ctx.config.caps,
      onProgress: (event) => ctx.events.update(event.message, event.progress),
      signal: ctx.signal,
    });
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    // The image or its registry is at fault: one line with the engine's status. Anything else (store down, a
    // bug) keeps its own class, so JobRunner reports it as it does for every job kind.
    if (err instanceof RegistryError) {
      // The network reason behind "could not reach …" is for the operator only (no port-scan oracle for users).
      if (err.detail !== undefined) ctx.log(`${err.message}: ${err.detail}`);
      throw new JobFailure(err.message, conversionErrorStatus(err));
    }
    if (err instanceof IngestError) throw new JobFailure(`invalid image layer: ${err.message}`, conversionErrorStatus(err));
    throw err;
  }
  if (result.name !== spec.name) ctx.log(`publishing as ${spec.name} (the Worker's name; the engine says ${result.name})`);
  const flistPath = path.join(ctx.tmpDir, "image.flist");
  await writeFlist(result.tree, flistPath);
  const s = result.stats;
  ctx.log(
    `converted ${result.image.reference} (${result.image.manifestDigest}, ${result.image.platform}): ${s.layers} layers, ` +
      `${s.layerBytes} bytes pulled, ${s.regular} files, ${s.fullsize} bytes of file data`,
  );
  await publish(ctx, spec, flistPath, result.tree);
}
