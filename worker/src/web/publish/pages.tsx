/**
 * Publish pages (signed in): upload a .tar.gz, convert a Docker image, merge flists, upload a homemade flist,
 * and the job page. The forms are driven by site.js: it sends the input to the web routes of actions.ts (with
 * the session's CSRF token as a header), shows the upload progress, then follows the job's events (SSE) and
 * ends on the new flist's page, or shows the error.
 */
import type { Context } from "hono";
import type { Child } from "hono/jsx";
import type { AppEnv } from "../../env";
import { uploadConfig } from "../../jobs/config";
import { csrfToken } from "../csrf";
import { renderPage, type NavKey } from "../layout";
import { sessionOf } from "../session";

/** The progress block every publish page shares (filled by site.js). */
export function JobProgress({ jobId }: { jobId?: string }) {
  return (
    <section class="card hidden" data-job-progress data-job-id={jobId ?? ""} aria-live="polite">
      <div data-upload-block class="hidden">
        <label>Upload</label>
        <progress data-upload-bar max="100" value="0"></progress>
        <p class="small muted" data-upload-text></p>
      </div>
      <div data-job-block class="hidden">
        <label>Conversion</label>
        <progress data-job-bar max="100" value="0"></progress>
        <p class="small" data-job-text></p>
        <ul class="layers" data-layers></ul>
        <details>
          <summary class="small muted">Events</summary>
          <ul class="events" data-events></ul>
        </details>
        <p class="small muted">
          Job <code data-job-label>{jobId ?? ""}</code>
        </p>
      </div>
      <div class="alert hidden" role="alert" data-job-error></div>
      <p class="ok hidden" data-job-done></p>
    </section>
  );
}

function ActingAs({ c }: { c: Context<AppEnv> }) {
  const session = sessionOf(c);
  return (
    <p class="hint">
      Publishing into <a href={`/${encodeURIComponent(session.repository)}`}>{session.repository}</a>
      {session.repositories.length > 1 ? (
        <>
          {" "}
          (<a href="/account">switch</a>)
        </>
      ) : null}
      .
    </p>
  );
}

function page(c: Context<AppEnv>, title: string, active: NavKey, body: Child): Promise<Response> {
  return renderPage(c, { title, active }, body);
}

export function uploadPage(c: Context<AppEnv>): Promise<Response> {
  return page(
    c,
    "Upload a .tar.gz",
    "upload",
    <>
      <h1>Upload a .tar.gz</h1>
      <p>
        The archive's files become a flist named after it (<code>my-app.tar.gz</code> → <code>my-app.flist</code>). A
        <code>/.README.md</code> at its root becomes the flist's readme.
      </p>
      <ActingAs c={c} />
      <form
        class="card"
        data-publish="upload"
        data-csrf={csrfToken(c)}
        data-single-max={String(uploadConfig.streamedMaxBytes(c.env))}
        action="/upload"
        method="post"
      >
        <label for="file">Archive</label>
        <input type="file" id="file" name="file" accept=".tar.gz,.tgz,application/gzip" required />
        <p class="hint">
          Up to several GB: the file is streamed to the hub, not held in memory, and sent in parts when it is larger
          than one request to this hub may carry.
        </p>
        <p>
          <button type="submit">Upload</button>
        </p>
      </form>
      <JobProgress />
    </>,
  );
}

export function homemadePage(c: Context<AppEnv>): Promise<Response> {
  return page(
    c,
    "Upload a homemade flist",
    "homemade",
    <>
      <h1>Upload a homemade flist</h1>
      <p>
        A <code>.flist</code> you built yourself (e.g. with <code>zflist</code> or <code>zhub</code>). Its chunks must
        already be in the hub's backend; the hub checks every file before publishing it.
      </p>
      <ActingAs c={c} />
      <form class="card" data-publish="homemade" data-csrf={csrfToken(c)} action="/upload-flist" method="post">
        <label for="file">Flist</label>
        <input type="file" id="file" name="file" accept=".flist" required />
        <p>
          <button type="submit">Upload</button>
        </p>
      </form>
      <JobProgress />
    </>,
  );
}

export function dockerPage(c: Context<AppEnv>): Promise<Response> {
  return page(
    c,
    "Convert a Docker image",
    "docker",
    <>
      <h1>Convert a Docker image</h1>
      <p>The hub pulls the image from its registry, unpacks its layers and publishes the result as a flist.</p>
      <ActingAs c={c} />
      <form class="card" data-publish="docker" data-csrf={csrfToken(c)} action="/docker-convert" method="post">
        <label for="image">Image</label>
        <div class="form-row">
          <input type="text" id="image" name="image" placeholder="ubuntu:24.04" required autocomplete="off" spellcheck={false} />
          <button type="submit">Convert</button>
        </div>
        <p class="hint">
          Docker Hub names (<code>alpine</code>, <code>library/nginx:1.27</code>) or a full reference (
          <code>ghcr.io/owner/image:tag</code>). The flist is named after it: <code>ubuntu:24.04</code> →{" "}
          <code>ubuntu-24.04.flist</code>.
        </p>
        <label for="platform">
          Platform <span class="muted small">(optional)</span>
        </label>
        <select id="platform" name="platform">
          <option value="">linux/amd64 (default)</option>
          <option value="linux/arm64">linux/arm64</option>
          <option value="linux/arm/v7">linux/arm/v7</option>
        </select>
        <label class="check">
          <input type="checkbox" id="startup-toml" name="startupToml" /> Also write <code>/.startup.toml</code> (the
          original hub's entrypoint file)
        </label>
        <details>
          <summary>Private registry</summary>
          <p class="hint">
            Used for this conversion only, stored sealed with the job and never shown again. With a username, the
            password or personal access token is sent as basic auth; a bearer token alone goes without a username.
          </p>
          <label for="username">Username</label>
          <input type="text" id="username" name="username" autocomplete="off" />
          <label for="password">Password or token</label>
          <input type="password" id="password" name="password" autocomplete="new-password" />
        </details>
      </form>
      <JobProgress />
    </>,
  );
}

export function mergePage(c: Context<AppEnv>): Promise<Response> {
  return page(
    c,
    "Merge flists",
    "merge",
    <>
      <h1>Merge flists</h1>
      <p>
        Combine several flists into one: the first is the base, each next one is laid over it (later files win).
        The result keeps the first flist's metadata.
      </p>
      <ActingAs c={c} />
      <form class="card" data-publish="merge" data-csrf={csrfToken(c)} action="/merge" method="post">
        <label for="merge-search">Add flists</label>
        <input type="search" id="merge-search" placeholder="Search flists by name" autocomplete="off" data-merge-search />
        <ul class="pick-results" data-merge-results></ul>
        <label>Order</label>
        <ol class="merge-list" data-merge-list></ol>
        <p class="hint" data-merge-empty>
          No flist picked yet.
        </p>
        <label for="name">Name of the result</label>
        <div class="form-row">
          <input type="text" id="name" name="name" placeholder="customized-build" required autocomplete="off" />
          <button type="submit">Merge</button>
        </div>
      </form>
      <JobProgress />
    </>,
  );
}

export function jobPage(c: Context<AppEnv>, id: string): Promise<Response> {
  return renderPage(
    c,
    { title: "Job" },
    <>
      <h1>Job</h1>
      <JobProgress jobId={id} />
    </>,
  );
}

export function readonlyPage(c: Context<AppEnv>): Promise<Response> {
  return renderPage(
    c,
    { title: "Read-only" },
    <>
      <h1>This hub is read-only</h1>
      <p>Publishing is disabled for now; every flist can still be browsed and downloaded.</p>
    </>,
  );
}
