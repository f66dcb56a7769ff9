/**
 * The resumable-upload routes, one Hono app per mount (uploads/resumable.ts for archives, images/resumable.ts for
 * image files), under the mount's collection path P:
 *
 *   POST   P                   create: validated body → mount.check → part size, total size → mount.open → R2 → 201
 *   GET    P/<id>              status (mounts with `status` only)
 *   PUT    P/<id>/<part>       one part, checked by the mount's part rule, stored in R2, recorded by the mount
 *   POST   P/<id>/complete     mount.complete (assembling and what follows is the mount's)
 *   DELETE P/<id>              aborts the R2 upload, the mount forgets the session
 *
 * Every route but create needs the caller's session: another repository's is answered like a missing one (404).
 */
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { validator } from "hono/validator";
import { z } from "zod";
import type { Actor, AppEnv, Env } from "../env";
import { HubError } from "../http/errors";
import { ok } from "../http/respond";
import { uploadConfig } from "../jobs/config";
import { bodyChunks } from "../http/big-reads";
import { abortSession, checkTotal, multipart, negotiatePartSize, type Session, type SessionStore } from "./protocol";

type MountEnv<Row> = { Bindings: Env; Variables: { actor: Actor; session: Session<Row> } };
export type MountContext<Row> = Context<MountEnv<Row>>;

/** A received part, as R2 acknowledged it. */
export interface StoredPart {
  part: number;
  size: number;
  etag: string;
}

/**
 * How parts arrive. `any`: in any order, each re-sendable (replacing the previous), every one at most `partSize`
 * bytes with a Content-Length (the last-but-not-short rule is checked when completing). `sequential`: strictly in
 * order, each exactly its share of the announced size — for mounts that fold every byte into a running state.
 */
export type PartRule<Row> =
  | { order: "any"; maxParts: number }
  | {
      order: "sequential";
      count(session: Session<Row>): number;
      next(session: Session<Row>): number;
      /** Bytes not received yet. */
      remaining(session: Session<Row>): number;
    };

export interface ResumableMount<Row, Body, Checked extends { size?: number; partSize?: number }, Tap = never> {
  /** The collection's route pattern in the returned app: "" when mounted with `app.route(prefix, …)`. */
  path: string;
  /** Authenticates the caller and sets `c.var.actor`. */
  guard: MiddlewareHandler<AppEnv>;
  store: SessionStore<Row>;
  /** The 404 message of a missing (or another repository's) session. */
  notFound: string;
  /** The create body and how its refusals read: an unreadable body is `malformedJson`, or (undefined) validated as `null`. */
  body: z.ZodType<Body>;
  malformedJson?: string;
  invalidBody(issue: z.core.$ZodIssue | undefined): string;
  /** What "too large" calls the upload ("archive", "file"). */
  what: string;
  /** The mount's checks of a create request, before the part size and total size ones; nothing is created yet. */
  check(c: Context<AppEnv>, body: Body): Checked | Promise<Checked>;
  /** After the limits: the object and the session's record (`save` once R2 gave the upload id) → the 201 payload. */
  open(
    c: Context<AppEnv>,
    input: { id: string; checked: Checked; partSize: number },
  ): Promise<{ objectKey: string; options?: R2MultipartOptions; save(uploadId: string): Promise<unknown> }>;
  parts: PartRule<Row>;
  /** Sees every byte of a part on its way to R2 (which then gets it through a FixedLengthStream). */
  tap?(session: Session<Row>): Tap & { update(chunk: Uint8Array): void };
  /** Records a stored part → the PUT's payload. */
  recordPart(c: MountContext<Row>, session: Session<Row>, part: StoredPart, tap: Tap | undefined): Promise<unknown>;
  /** GET P/<id>'s payload; absent: no such route. */
  status?(c: MountContext<Row>, session: Session<Row>): Promise<unknown>;
  complete(c: MountContext<Row>, session: Session<Row>): Promise<Response>;
  /** DELETE's payload (none when absent). */
  aborted?(session: Session<Row>): unknown;
}

const UNREADABLE = Symbol("unreadable");

/**
 * The create body as JSON whatever its Content-Type (clients and `curl -d` label it as they like, and hono's
 * `json` target would then skip it), checked by the mount's schema in the mount's words; it becomes the request's
 * validated `json` data, as `validator` leaves it.
 */
function createBody<Row, Body>(
  mount: Pick<ResumableMount<Row, Body, never>, "body" | "malformedJson" | "invalidBody">,
): MiddlewareHandler<MountEnv<Row>, string, { out: { json: Body } }> {
  return async (c, next) => {
    const raw: unknown = await c.req.json().catch(() => UNREADABLE);
    if (raw === UNREADABLE && mount.malformedJson !== undefined) throw new HubError(400, mount.malformedJson);
    const parsed = mount.body.safeParse(raw === UNREADABLE ? null : raw);
    if (!parsed.success) throw new HubError(400, mount.invalidBody(parsed.error.issues[0]));
    c.req.addValidatedData("json", parsed.data as object);
    await next();
  };
}

/** The caller's session (another repository's is indistinguishable from a missing one) as `c.var.session`. */
function callerSession<Row>(store: SessionStore<Row>, notFound: string): MiddlewareHandler<MountEnv<Row>> {
  return async (c, next) => {
    const session = await store.get(c.env.DB, c.req.param("id") ?? "");
    if (!session || session.repository !== c.var.actor.repository) throw new HubError(404, notFound);
    c.set("session", session);
    await next();
  };
}

function requireOpen<Row>(session: Session<Row>): void {
  if (session.status !== "open") throw new HubError(409, `upload is ${session.status}`);
}

/** The part number: 1..maxParts (`any`, digits only) or 1..the session's part count (`sequential`). */
function partNumber<Row>(rule: PartRule<Row>) {
  const anyOrder = rule.order === "any" ? z.string().regex(/^\d{1,5}$/).transform(Number).pipe(z.number().min(1).max(rule.maxParts)) : null;
  return validator("param", (param: Record<string, string>, c: MountContext<Row>) => {
    const text = param.part ?? "";
    if (rule.order === "any") {
      const parsed = anyOrder!.safeParse(text);
      if (!parsed.success) throw new HubError(400, `invalid part: expected 1..${rule.maxParts}`);
      return { part: parsed.data };
    }
    const parsed = z.coerce.number().int().min(1).max(rule.count(c.var.session)).safeParse(text);
    if (!parsed.success) throw new HubError(400, "invalid part number");
    return { part: parsed.data };
  });
}

/**
 * The part's length from its Content-Length. `any`: required (411), not empty, at most the part size and within
 * `HUB_UPLOAD_MAX_BYTES` counting the parts before it (413). `sequential`: in order (409), exactly what is due (400).
 */
function partLength<Row>(rule: PartRule<Row>, what: string) {
  return validator("header", (headers: Record<string, string>, c: MountContext<Row>) => {
    const session = c.var.session;
    const part = Number(c.req.param("part")); // checked by partNumber
    const header = headers["content-length"];
    if (rule.order === "sequential") {
      const next = rule.next(session);
      if (part !== next) throw new HubError(409, `parts are uploaded in order: the next one is ${next}`);
      const expected = Math.min(session.partSize, rule.remaining(session));
      const length = Number(header ?? "NaN");
      if (length !== expected || !c.req.raw.body) throw new HubError(400, `part ${part} must be ${expected} bytes (Content-Length)`);
      return { length };
    }
    if (header === undefined || !/^\d{1,12}$/.test(header.trim())) throw new HubError(411, "Content-Length required");
    const length = Number(header.trim());
    if (length === 0 || !c.req.raw.body) throw new HubError(400, "empty part");
    if (length > session.partSize) throw new HubError(413, `part larger than the upload's part size ${session.partSize}`);
    const cap = uploadConfig.maxBytes(c.env);
    if ((part - 1) * session.partSize + length > cap) throw new HubError(413, `${what} larger than ${cap} bytes`);
    return { length };
  });
}

/** The body straight to R2; a failure (short body, client gone, upload gone) is the client's 400. */
async function storeDirect(upload: R2MultipartUpload, part: number, body: ReadableStream): Promise<R2UploadedPart> {
  try {
    return await upload.uploadPart(part, body);
  } catch (err) {
    throw new HubError(400, `part ${part} not stored: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * The body through `tap` to R2, in large pieces (http/big-reads.ts `bodyChunks`); as in `storeDirect`, a body that
 * fails (short, client gone) is the client's 400.
 */
async function storeTapped(
  upload: R2MultipartUpload,
  part: number,
  body: ReadableStream<Uint8Array>,
  length: number,
  tap: { update(chunk: Uint8Array): void },
): Promise<R2UploadedPart> {
  const fixed = new FixedLengthStream(length);
  const sent = upload.uploadPart(part, fixed.readable);
  const writer = fixed.writable.getWriter();
  try {
    for await (const chunk of bodyChunks(body)) {
      tap.update(chunk);
      await writer.write(chunk);
    }
    await writer.close();
  } catch (err) {
    await writer.abort(err).catch(() => undefined);
    await sent.catch(() => undefined);
    throw err instanceof HubError ? err : new HubError(400, `part ${part} not stored: ${err instanceof Error ? err.message : String(err)}`);
  }
  return await sent;
}

export function resumableRoutes<Row, Body, Checked extends { size?: number; partSize?: number }, Tap = never>(
  mount: ResumableMount<Row, Body, Checked, Tap>,
): Hono<AppEnv> {
  const app = new Hono<MountEnv<Row>>();
  // The mount's guard only reads and sets `actor`, which this app's variables include.
  const guard = mount.guard as unknown as MiddlewareHandler<MountEnv<Row>>;
  const session = callerSession(mount.store, mount.notFound);
  const root = mount.path || "/";

  app.post(root, guard, createBody<Row, Body>(mount), async (c) => {
    const actorContext = c as unknown as Context<AppEnv>;
    const checked = await mount.check(actorContext, c.req.valid("json"));
    const partSize = negotiatePartSize(c.env, checked.partSize);
    checkTotal(c.env, checked.size, mount.what);
    const id = crypto.randomUUID();
    const opened = await mount.open(actorContext, { id, checked, partSize });
    const upload = await c.env.FLISTS.createMultipartUpload(opened.objectKey, opened.options);
    return ok(c, await opened.save(upload.uploadId), 201);
  });

  const status = mount.status;
  if (status) app.get(`${mount.path}/:id`, guard, session, async (c) => ok(c, await status(c, c.var.session)));

  app.put(
    `${mount.path}/:id/:part`,
    guard,
    session,
    async (c, next) => {
      requireOpen(c.var.session);
      await next();
    },
    partNumber(mount.parts),
    partLength(mount.parts, mount.what),
    async (c) => {
      const s = c.var.session;
      const { part } = c.req.valid("param");
      const { length } = c.req.valid("header");
      const body = c.req.raw.body!;
      const upload = multipart(c.env, s);
      const tap = mount.tap?.(s);
      const uploaded = tap ? await storeTapped(upload, part, body, length, tap) : await storeDirect(upload, part, body);
      return ok(c, await mount.recordPart(c, s, { part, size: length, etag: uploaded.etag }, tap));
    },
  );

  app.post(`${mount.path}/:id/complete`, guard, session, (c) => mount.complete(c, c.var.session));

  app.delete(`${mount.path}/:id`, guard, session, async (c) => {
    const s = c.var.session;
    requireOpen(s);
    await abortSession(c.env, mount.store, s);
    return ok(c, mount.aborted?.(s));
  });

  // Callers mount it in their AppEnv apps; `session` is this app's own variable.
  return app as unknown as Hono<AppEnv>;
}
