/**
 * Docker/OCI image conversion: `convertImage(reference, options)` → flist tree, name, stats, metadata.
 * See convert.ts for the flow, registry.ts/auth.ts/policy.ts for the registry side, outbound.ts for how it reaches
 * the network (the outbound guard, docs/outbound.md), layers.ts for whiteouts.
 */
export { type ConvertOptions, type ConvertResult, type ConvertStats, type ProgressEvent, convertImage } from "./convert.ts";
export { type Credentials, CredentialsSchema, parseChallenges } from "./auth.ts";
export { RegistryError, type RegistryErrorCode } from "./errors.ts";
export { type ImageReference, flistName, formatReference, parseReference } from "./reference.ts";
export { type PlatformSpec, DEFAULT_PLATFORM, formatPlatform, parsePlatform } from "./platform.ts";
export { type RegistryPolicy, registryPolicyFromEnv } from "./policy.ts";
export { RegistryClient, type ResolvedImage } from "./registry.ts";
export { imageMetadata } from "./image-metadata.ts";
export { startupToml } from "./startup.ts";
export { type DockerRequest, DockerRequestSchema, conversionErrorStatus } from "./request.ts";
