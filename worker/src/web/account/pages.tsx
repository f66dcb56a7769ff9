/** Bodies of the My account page (rendered in the site's Layout by routes.tsx). */
import type { RegisteredToken } from "../../auth/registry";
import type { JobRow } from "../../jobs/store";
import { CSRF_FIELD } from "../csrf";
import type { Session } from "../session";
import type { Lifetime } from "./lifetimes";

function when(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

/** The original's preview URL of a published flist (the website redirects it to the flist page). */
function previewUrl(repository: string, name: string): string {
  return `/${encodeURIComponent(repository)}/${encodeURIComponent(name.replace(/\.flist$/, ""))}.md`;
}

const STATUS_CLASS: Record<string, string> = { failed: "error", succeeded: "ok" };

function Csrf({ token }: { token: string }) {
  return <input type="hidden" name={CSRF_FIELD} value={token} />;
}

export type Notice = "switched" | "revoked" | "not-member" | "unknown-token" | null;

const NOTICES: Record<Exclude<Notice, null>, { text: string; bad?: boolean }> = {
  switched: { text: "Acting repository changed." },
  revoked: { text: "Token revoked: the API refuses it from now on." },
  "not-member": { text: "You are not a member of that repository.", bad: true },
  "unknown-token": { text: "That token is not one of yours.", bad: true },
};

function tokenStatus(t: RegisteredToken, now: number): { label: string; live: boolean } {
  if (t.revoked) return { label: "revoked", live: false };
  if (t.expires !== null && now >= t.expires) return { label: "expired", live: false };
  return { label: "active", live: true };
}

export interface AccountProps {
  session: Session;
  tokens: RegisteredToken[];
  jobs: JobRow[];
  lifetimes: Lifetime[];
  defaultLifetime: string;
  notice: Notice;
  /** A problem with the token form (shown next to it, the form keeps the name). */
  formError?: string;
  formName?: string;
  now: number;
}

export function AccountBody(p: AccountProps) {
  const s = p.session;
  const notice = p.notice ? NOTICES[p.notice] : null;
  return (
    <section class="account">
      <h1>My account</h1>
      {notice ? (
        <p class={notice.bad ? "alert" : "notice"} id="account-notice" role="status">
          {notice.text}
        </p>
      ) : null}
      <div class="card">
        <dl class="facts">
          <dt>Signed in as</dt>
          <dd id="account-user">{s.user}</dd>
          <dt>Acting for</dt>
          <dd id="account-repository">{s.repository}</dd>
          <dt>Session ends</dt>
          <dd>{when(s.expires)}</dd>
        </dl>
        <form method="post" action="/logout" class="form-row">
          <Csrf token={s.csrf} />
          <button type="submit" class="secondary" id="signout">
            Sign out
          </button>
        </form>
      </div>

      <h2 id="repository">Acting repository</h2>
      <div class="card">
        {s.repositories.length > 1 ? (
          <form method="post" action="/account/repository">
            <Csrf token={s.csrf} />
            <label for="repository-select">Publish and manage flists as</label>
            <div class="form-row">
              <select id="repository-select" name="repository">
                {s.repositories.map((r) => (
                  <option value={r} selected={r === s.repository}>
                    {r === s.user ? `${r} (yourself)` : r}
                  </option>
                ))}
              </select>
              <button type="submit" id="repository-switch">
                Switch
              </button>
            </div>
            <p class="hint">Uploads, conversions and merges on the website go to this repository.</p>
          </form>
        ) : (
          <p class="muted">
            You act as yourself (<b>{s.user}</b>). Organisations that add you as a member appear here.
          </p>
        )}
      </div>

      <h2 id="tokens">API tokens</h2>
      <div class="card">
        <form method="post" action="/account/tokens">
          <Csrf token={s.csrf} />
          <div class="grid2">
            <div>
              <label for="token-name">Name</label>
              <input
                type="text"
                id="token-name"
                name="name"
                required
                maxlength={80}
                placeholder="e.g. CI pipeline"
                value={p.formName ?? ""}
              />
            </div>
            <div>
              <label for="token-lifetime">Lifetime</label>
              <select id="token-lifetime" name="lifetime">
                {p.lifetimes.map((l) => (
                  <option value={l.value} selected={l.value === p.defaultLifetime}>
                    {l.label}
                  </option>
                ))}
              </select>
            </div>
          </div>
          {p.formError ? (
            <p class="alert" id="token-error">
              {p.formError}
            </p>
          ) : null}
          <p>
            <button type="submit" id="token-create">
              Create token
            </button>
          </p>
          <p class="hint">
            A token acts as <b>{s.user}</b> on the API (<code>Authorization: bearer …</code>); it is shown once.
          </p>
        </form>
      </div>
      {p.tokens.length === 0 ? (
        <p class="muted" id="tokens-empty">
          No tokens made on the website yet.
        </p>
      ) : (
        <div class="table-wrap">
          <table class="responsive" id="tokens-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Created</th>
                <th>Expires</th>
                <th>Status</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              {p.tokens.map((t) => {
                const status = tokenStatus(t, p.now);
                return (
                  <tr data-token-id={t.id}>
                    <td class="name" data-label="Name">
                      {t.name}
                    </td>
                    <td data-label="Created">{when(t.created)}</td>
                    <td data-label="Expires">{t.expires === null ? "never" : when(t.expires)}</td>
                    <td data-label="Status" class={status.live ? "ok" : "muted"}>
                      {status.label}
                    </td>
                    <td class="actions">
                      {status.live ? (
                        <form method="post" action={`/account/tokens/${t.id}/revoke`}>
                          <Csrf token={s.csrf} />
                          <button type="submit" class="secondary small">
                            Revoke
                          </button>
                        </form>
                      ) : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}

      <h2 id="jobs">Recent jobs in {s.repository}</h2>
      {p.jobs.length === 0 ? (
        <p class="muted" id="jobs-empty">
          No jobs yet. <a href="/upload">Upload</a>, <a href="/docker-convert">convert</a> or{" "}
          <a href="/merge">merge</a> to publish a flist.
        </p>
      ) : (
        <div class="table-wrap">
          <table class="responsive" id="jobs-table">
            <thead>
              <tr>
                <th>Flist</th>
                <th>Kind</th>
                <th>Status</th>
                <th>By</th>
                <th>Started</th>
              </tr>
            </thead>
            <tbody>
              {p.jobs.map((j) => (
                <tr>
                  <td class="name" data-label="Flist">
                    {j.status === "succeeded" ? (
                      <a href={previewUrl(j.repository, j.name)}>
                        {j.name}
                      </a>
                    ) : (
                      j.name
                    )}
                  </td>
                  <td data-label="Kind">{j.kind}</td>
                  <td data-label="Status" class={STATUS_CLASS[j.status]}>
                    {j.status === "running" || j.status === "queued" ? `${j.status} (${j.progress}%)` : j.status}
                    {j.status === "failed" && j.message ? <div class="small">{j.message}</div> : null}
                  </td>
                  <td data-label="By">{j.user}</td>
                  <td data-label="Started">
                    <a href={`/api/jobs/${encodeURIComponent(j.id)}`} title={j.id}>
                      {when(j.created)}
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
