/**
 * Manifest, index and image-config documents (OCI image-spec v1 and Docker schema 2), validated with zod
 * at the edge: only the fields the conversion uses are required; everything else is passed over.
 */
import { z } from "zod";
import { RegistryError } from "./errors.ts";

export const MediaType = {
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerSchema1: "application/vnd.docker.distribution.manifest.v1+json",
  dockerSchema1Signed: "application/vnd.docker.distribution.manifest.v1+prettyjws",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
} as const;

/** What we ask registries for, best first; schema 1 is accepted only to report it clearly. */
export const MANIFEST_ACCEPT = [
  MediaType.ociIndex,
  MediaType.dockerList,
  MediaType.ociManifest,
  MediaType.dockerManifest,
  `${MediaType.dockerSchema1Signed};q=0.1`,
  `${MediaType.dockerSchema1};q=0.1`,
].join(", ");

/** Layer media types and the compression their blob uses ("sniff": decided from the first bytes). */
const LAYER_TYPES: Record<string, "gzip" | "zstd" | "none" | "sniff"> = {
  "application/vnd.docker.image.rootfs.diff.tar.gzip": "gzip",
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip": "gzip",
  "application/vnd.docker.image.rootfs.diff.tar.zstd": "zstd",
  "application/vnd.oci.image.layer.v1.tar": "none",
  "application/vnd.oci.image.layer.v1.tar+gzip": "gzip",
  "application/vnd.oci.image.layer.v1.tar+zstd": "zstd",
  "application/vnd.oci.image.layer.nondistributable.v1.tar": "none",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip": "gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd": "zstd",
  // Old tooling (and some registries) label layers with the generic tar type.
  "application/x-tar": "sniff",
};

export function layerCompression(mediaType: string): "gzip" | "zstd" | "none" | "sniff" | undefined {
  return LAYER_TYPES[mediaType];
}

const DigestString = z.string().regex(/^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/, "not a sha256/sha512 digest");

export const DescriptorSchema = z.object({
  mediaType: z.string().max(255),
  digest: DigestString,
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  urls: z.array(z.string()).optional(),
});
export type Descriptor = z.infer<typeof DescriptorSchema>;

const PlatformSchema = z.object({
  os: z.string(),
  architecture: z.string(),
  variant: z.string().optional(),
  "os.version": z.string().optional(),
});
export type Platform = z.infer<typeof PlatformSchema>;

export const IndexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(DescriptorSchema.extend({ platform: PlatformSchema.optional() })).max(10_000),
});
export type ImageIndex = z.infer<typeof IndexSchema>;

export const ManifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: DescriptorSchema,
  layers: z.array(DescriptorSchema).max(10_000),
});
export type ImageManifest = z.infer<typeof ManifestSchema>;

const StringList = z.array(z.string()).nullish();
const EmptyObjectMap = z.record(z.string(), z.unknown()).nullish();

/** The part of the image configuration (`config` of the config blob) that becomes flist metadata. */
export const ImageConfigSchema = z.object({
  os: z.string().optional(),
  architecture: z.string().optional(),
  variant: z.string().optional(),
  created: z.string().optional(),
  config: z
    .object({
      User: z.string().nullish(),
      ExposedPorts: EmptyObjectMap,
      Env: StringList,
      Entrypoint: StringList,
      Cmd: StringList,
      Volumes: EmptyObjectMap,
      WorkingDir: z.string().nullish(),
      Labels: z.record(z.string(), z.string()).nullish(),
      StopSignal: z.string().nullish(),
    })
    .nullish(),
  rootfs: z.object({ type: z.string(), diff_ids: z.array(z.string()) }).optional(),
});
export type ImageConfig = z.infer<typeof ImageConfigSchema>;

/** What kind of document a manifest body is, from its Content-Type and its own mediaType/schemaVersion. */
export function manifestKind(contentType: string | null, body: unknown): "index" | "manifest" | "schema1" | "unknown" {
  const declared = (body as { mediaType?: unknown } | null)?.mediaType;
  const schemaVersion = (body as { schemaVersion?: unknown } | null)?.schemaVersion;
  const type = typeof declared === "string" ? declared : (contentType ?? "").split(";")[0]?.trim() ?? "";
  if (schemaVersion === 1 || type === MediaType.dockerSchema1 || type === MediaType.dockerSchema1Signed) return "schema1";
  if (type === MediaType.ociIndex || type === MediaType.dockerList) return "index";
  if (type === MediaType.ociManifest || type === MediaType.dockerManifest) return "manifest";
  // OCI allows omitting mediaType: tell them apart by shape.
  if (body !== null && typeof body === "object") {
    if (Array.isArray((body as { manifests?: unknown }).manifests)) return "index";
    if ((body as { config?: unknown }).config !== undefined) return "manifest";
  }
  return "unknown";
}

export function parseDocument<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.join(".")}` : "";
    throw new RegistryError("bad-manifest", `${what} is not valid${where}: ${issue?.message ?? "unknown problem"}`);
  }
  return parsed.data;
}
