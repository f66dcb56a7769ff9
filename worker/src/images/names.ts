/**
 * Image paths as docker-simplestreams-server names them: `<os>/<release>/<arch>/<variant>/<YYYYMMDD_HH:MM>/<file>`,
 * the file types LXD/Incus pair (docs/design.md §4.1), and the architecture names their `osarch` parses.
 */
import { z } from "zod";
import { nameSchema, textProblem } from "../names";
import { HubError } from "../http/errors";
import { checked } from "../http/validate";

/**
 * A path segment: the hub's name rule first (so a refusal names it: "contains a backslash"), then stricter: nothing
 * a URL or an R2 key would need to escape beyond `:`.
 */
export const segmentSchema = nameSchema
  .regex(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/, "letters, digits, '.', '_', '+', '-' (64 at most)");
/** The clients skip versions whose first 8 characters are not YYYYMMDD; the seed server requires this shape. */
export const versionSchema = z.string().regex(/^\d{8}_\d{2}:\d{2}$/, "version must be YYYYMMDD_HH:MM");

/**
 * Architectures LXD/Incus `osarch` parse (a product with another arch is silently skipped by the client), as
 * given in the path → the Debian-style name shown in `arch`.
 */
const ARCHES: Record<string, string> = {
  amd64: "amd64", x86_64: "amd64",
  i386: "i386", i686: "i386",
  arm64: "arm64", aarch64: "arm64",
  armhf: "armhf", armv7l: "armhf",
  armel: "armel", armv6l: "armel",
  ppc64el: "ppc64el", ppc64le: "ppc64el",
  s390x: "s390x",
  riscv64: "riscv64",
  loong64: "loongarch64", loongarch64: "loongarch64",
};

export function archName(arch: string): string | undefined {
  return ARCHES[arch];
}

export type MetaFtype = "lxd.tar.xz" | "incus.tar.xz";
export type RootFtype = "squashfs" | "root.tar.xz" | "disk-kvm.img";
export type Ftype = MetaFtype | RootFtype;

/** Accepted upload file names → item ftype. `metadata.json` is handled apart (an override, not an item). */
export const FILE_TYPES: Record<string, Ftype> = {
  "lxd.tar.xz": "lxd.tar.xz",
  "incus.tar.xz": "incus.tar.xz",
  "rootfs.squashfs": "squashfs",
  "root.tar.xz": "root.tar.xz",
  "disk.qcow2": "disk-kvm.img",
};
export const METADATA_JSON = "metadata.json";

export function isMeta(ftype: string): ftype is MetaFtype {
  return ftype === "lxd.tar.xz" || ftype === "incus.tar.xz";
}

/** The item field of a metadata item that carries sha256(metadata ‖ root) for each root type. */
export const COMBINED_FIELDS: Record<RootFtype, string[]> = {
  squashfs: ["combined_squashfs_sha256"],
  // `combined_sha256` is the legacy name older clients read for root.tar.xz.
  "root.tar.xz": ["combined_rootxz_sha256", "combined_sha256"],
  "disk-kvm.img": ["combined_disk-kvm-img_sha256"],
};

export interface ImageKey {
  os: string;
  release: string;
  arch: string;
  variant: string;
  version: string;
}

export function productKey(k: Pick<ImageKey, "os" | "release" | "arch" | "variant">): string {
  return `${k.os}:${k.release}:${k.arch}:${k.variant}`;
}

export function productPath(k: Pick<ImageKey, "os" | "release" | "arch" | "variant">): string {
  return `${k.os}/${k.release}/${k.arch}/${k.variant}`;
}

function check<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  return checked(schema, value, what);
}

/** Validates the five key parts (from a path or a JSON body). */
export function imageKey(parts: Record<keyof ImageKey, unknown>): ImageKey {
  const arch = check(segmentSchema, parts.arch, "arch");
  if (!archName(arch)) throw new HubError(400, `invalid arch: ${arch} is not an architecture LXD/Incus know`);
  return {
    os: check(segmentSchema, parts.os, "os"),
    release: check(segmentSchema, parts.release, "release"),
    arch,
    variant: check(segmentSchema, parts.variant, "variant"),
    version: check(versionSchema, parts.version, "version"),
  };
}

/** `<os>/<release>/<arch>/<variant>/<version>/<file>` (the compat upload's file name) → key and file. */
export function parseUploadPath(raw: string): { key: ImageKey; file: string } {
  const parts = raw.replace(/^\/+/, "").split("/");
  if (parts.length !== 6 || parts.some((p) => p === "" || p === "." || p === "..")) {
    throw new HubError(400, "file name must be <os>/<release>/<arch>/<variant>/<YYYYMMDD_HH:MM>/<file>");
  }
  const [os, release, arch, variant, version, file] = parts as [string, string, string, string, string, string];
  return { key: imageKey({ os, release, arch, variant, version }), file: uploadFile(file) };
}

export function uploadFile(file: string): string {
  if (file !== METADATA_JSON && !(file in FILE_TYPES)) {
    throw new HubError(400, `this file is not allowed: one of ${[...Object.keys(FILE_TYPES), METADATA_JSON].join(", ")}`);
  }
  return file;
}

/** `rootfs.squashfs` → `rootfs-<n>.squashfs` (the seed's get_uniq_fpath: the first dot splits the extension). */
export function numberedName(file: string, n: number): string {
  const dot = file.indexOf(".");
  return dot < 0 ? `${file}-${n}` : `${file.slice(0, dot)}-${n}${file.slice(dot)}`;
}

/** metadata.json override: `aliases` as an array or a comma-joined string (the seed's code splits on ","). */
export const metadataOverrideSchema = z.object({
  os: segmentSchema.optional(),
  // Shown by `lxc image list`: the display part of the name rule (no control, bidi or separator characters).
  release_title: z
    .string()
    .max(128)
    .refine((s) => !textProblem(s), "release_title: no control, bidirectional-text or line-separator characters")
    .optional(),
  aliases: z
    .union([z.array(z.string()), z.string()])
    .optional()
    .transform((v) => (v === undefined ? undefined : (typeof v === "string" ? v.split(",") : v)))
    .pipe(z.array(z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9._+:/-]{0,127}$/, "invalid alias")).max(32).optional()),
});
export type MetadataOverride = z.infer<typeof metadataOverrideSchema>;
