/**
 * `POST /api/flist/me/docker` bodies (docs/compatibility.md §3.4): the original's form field `image`, or JSON
 * `{image, platform?, startupToml?, username?, password?, token?}`, both validated by one zod schema. Messages
 * name the field at fault, never a credential's value.
 */
import { z } from "zod";
import { HubError } from "../http/errors";
import { pairs } from "../uploads/form";
import { credentialsSchema, type Credentials } from "../jobs/credentials";
import { invalidInput } from "../http/validate";

/** What the API route, and the website's docker page, hand to `startDockerJob`. */
export const dockerJobRequestSchema = z
  .object({
    image: z.string().trim().max(1024).default(""),
    /** `linux/arm64`, `linux/arm/v7`; the converter's default is linux/amd64. */
    platform: z
      .string()
      .trim()
      .max(100)
      .regex(/^[a-z0-9._-]+\/[a-z0-9._-]+(\/[a-z0-9._-]+)?$/, "platform: expected os/arch[/variant], e.g. linux/arm64")
      .optional(),
    /** Also write the original hub's `/.startup.toml` into the flist. */
    startupToml: z.boolean().optional(),
    username: z.string().max(1024).optional(),
    password: z.string().max(8192).optional(),
    token: z.string().max(16384).optional(),
  })
  .strict();
export type DockerJobRequest = z.input<typeof dockerJobRequestSchema>;

export interface CheckedDockerRequest {
  image: string;
  platform?: string;
  startupToml?: boolean;
  credentials?: Credentials;
}

/** Validates a request (from any edge) and folds the credential fields into one credentials object. */
export function checkDockerRequest(raw: unknown): CheckedDockerRequest {
  const parsed = dockerJobRequestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue?.code === "unrecognized_keys") throw new HubError(400, `unknown field: ${issue.keys.join(", ")}`);
    // zod's messages describe the rule, not the value: safe for credential fields too.
    throw invalidInput(parsed.error, { field: "(root)" });
  }
  const { image, platform, startupToml, username, password, token } = parsed.data;
  if (!image) throw new HubError(400, "missing docker image name");
  const out: CheckedDockerRequest = { image };
  if (platform) out.platform = platform;
  if (startupToml !== undefined) out.startupToml = startupToml;
  const given = [username, password, token].some((v) => v !== undefined && v !== "");
  if (given) {
    const credentials = credentialsSchema.safeParse(
      token ? (username || password ? { token, username } : { token }) : { username, password },
    );
    if (!credentials.success) {
      throw new HubError(400, "invalid credentials: give username and password, or a token alone");
    }
    out.credentials = credentials.data;
  }
  return out;
}

const TRUE = new Set(["1", "true", "yes", "on"]);
const FALSE = new Set(["0", "false", "no", "off", ""]);

/** The form's fields as the JSON body's (text values only; `startupToml` as a checkbox or a boolean word). */
export function formToRequest(form: FormData): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of pairs(form)) {
    if (typeof value !== "string") throw new HubError(400, `${key}: expected a text value`);
    if (key === "startupToml") {
      const word = value.trim().toLowerCase();
      if (!TRUE.has(word) && !FALSE.has(word)) throw new HubError(400, "invalid startupToml: expected true or false");
      out[key] = TRUE.has(word);
    } else out[key] = value;
  }
  return out;
}
