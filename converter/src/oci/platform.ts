/**
 * Platform choice in a multi-platform image (manifest list / OCI index), as containerd's `platforms` package
 * normalises it: `os/arch[/variant]`, `x86_64` = `amd64`, `aarch64` = `arm64`, `arm64` without a variant = `v8`,
 * `arm` without a variant = `v7`. The default is `linux/amd64`.
 */
import { RegistryError } from "./errors.ts";
import type { ImageIndex } from "./manifest.ts";

export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

export const DEFAULT_PLATFORM: PlatformSpec = { os: "linux", architecture: "amd64" };

const ARCH_ALIASES: Record<string, string> = { x86_64: "amd64", "x86-64": "amd64", aarch64: "arm64", armhf: "arm", armel: "arm", i386: "386" };
const DEFAULT_VARIANT: Record<string, string> = { arm64: "v8", arm: "v7" };

function normalise(p: { os: string; architecture: string; variant?: string | undefined }): Required<PlatformSpec> {
  const architecture = ARCH_ALIASES[p.architecture.toLowerCase()] ?? p.architecture.toLowerCase();
  let variant = (p.variant ?? "").toLowerCase();
  if (architecture === "arm64" && variant === "8") variant = "v8";
  if (variant === "") variant = DEFAULT_VARIANT[architecture] ?? "";
  return { os: p.os.toLowerCase(), architecture, variant };
}

/** Parses `linux/arm64`, `linux/arm/v7`; also accepts a bare architecture (`arm64` = `linux/arm64`). */
export function parsePlatform(text: string): PlatformSpec {
  const parts = text.trim().split("/");
  const ok = /^[a-z0-9][a-z0-9_.-]*$/i;
  if (parts.length > 3 || parts.some((p) => !ok.test(p))) {
    throw new RegistryError("invalid-reference", `invalid platform '${text.slice(0, 100)}': expected os/architecture[/variant], e.g. linux/arm64`);
  }
  if (parts.length === 1) return { os: "linux", architecture: parts[0] as string };
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return variant !== undefined ? { os, architecture, variant } : { os, architecture };
}

export function formatPlatform(p: { os: string; architecture: string; variant?: string | undefined }): string {
  return [p.os, p.architecture, p.variant].filter((s) => s !== undefined && s !== "").join("/");
}

/** Whether an image of platform `have` runs on `want`. */
export function platformMatches(want: PlatformSpec, have: { os: string; architecture: string; variant?: string | undefined }): boolean {
  const w = normalise(want);
  const h = normalise(have);
  return w.os === h.os && w.architecture === h.architecture && w.variant === h.variant;
}

/** The index entry for `want` (the first match, as containerd picks); a clear error listing what exists otherwise. */
export function selectManifest(index: ImageIndex, want: PlatformSpec, image: string): ImageIndex["manifests"][number] {
  const found = index.manifests.find((m) => m.platform !== undefined && platformMatches(want, m.platform));
  if (found) return found;
  const available = index.manifests
    .filter((m) => m.platform !== undefined && m.platform.os !== "unknown") // attestation manifests (buildx) are not images
    .map((m) => formatPlatform(m.platform as PlatformSpec));
  throw new RegistryError(
    "no-matching-platform",
    `${image} has no ${formatPlatform(want)} image (available: ${available.length > 0 ? [...new Set(available)].join(", ") : "none"})`,
  );
}
