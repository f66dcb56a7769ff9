/** The sign-in pages' bodies (rendered inside the site's Layout by routes.tsx). */
import { CSRF_FIELD } from "../csrf";

export function LoginMethodBody(props: {
  next: string;
  local: { user: string; state: string } | null;
  signedInAs: string | null;
  /** False when the hub has no ThreeFold Connect key (HUB_TFCONNECT_PRIVATE_KEY). */
  tfconnect: boolean;
}) {
  const loginHref = props.next === "/" ? "/login" : `/login?next=${encodeURIComponent(props.next)}`;
  return (
    <section class="signin">
      <h1>Sign in</h1>
      {props.signedInAs ? (
        <p class="notice">
          You are signed in as <b>{props.signedInAs}</b>. <a href="/account">My account</a>
        </p>
      ) : null}
      <div class="card">
        <h2>ThreeFold Connect</h2>
        <p class="muted">
          Approve the sign-in in the ThreeFold Connect app; the hub checks the app's signature and your verified email
          address.
        </p>
        {props.tfconnect ? (
          <p>
            <a class="button" id="signin-tfconnect" href={loginHref}>
              Sign in with ThreeFold Connect
            </a>
          </p>
        ) : (
          <p class="alert" id="signin-unavailable">
            ThreeFold Connect sign-in is not configured on this hub (its operator sets HUB_TFCONNECT_PRIVATE_KEY).
          </p>
        )}
      </div>
      {props.local ? (
        <div class="card">
          <h2>Local hub</h2>
          <p class="muted">
            This hub runs on this machine (<code>npm start</code>): sign in as its local user without ThreeFold Connect.
          </p>
          <form method="post" action="/login/local">
            <input type="hidden" name="state" value={props.local.state} />
            <input type="hidden" name="next" value={props.next} />
            <button type="submit" id="signin-local">
              Sign in as {props.local.user}
            </button>
          </form>
        </div>
      ) : null}
      <div class="card">
        <h2>API token only</h2>
        <p class="muted">
          For scripts and <code>zflist</code>: sign in with ThreeFold Connect once and get an API token, without a
          website session. Signed-in users manage named tokens with a lifetime on <a href="/account">My account</a>.
        </p>
        {props.tfconnect ? (
          <p>
            <a class="button secondary" href="/token">
              Generate an API token
            </a>
          </p>
        ) : null}
      </div>
    </section>
  );
}

export function SigninRefusedBody(props: { message: string }) {
  return (
    <section class="error-page">
      <h1>Sign-in refused</h1>
      <p class="alert" id="signin-error">
        {props.message}
      </p>
      <p>
        <a href="/login-method">Try again</a> · <a href="/">Repositories</a>
      </p>
    </section>
  );
}

function utcMinute(seconds: number): string {
  return `${new Date(seconds * 1000).toISOString().replace("T", " ").slice(0, 16)} UTC`;
}

/** A token shown once: its value, who it is for, and how to use it. */
export function TokenShownBody(props: {
  token: string;
  user: string;
  origin: string;
  name?: string;
  expires?: number | null;
  heading?: string;
}) {
  return (
    <section class="token-shown">
      <h1>{props.heading ?? "Your API token"}</h1>
      <p class="notice">
        This is the only time the hub shows this token: copy it now and keep it like a password. It acts as{" "}
        <b>{props.user}</b>
        {props.name ? <> (named “{props.name}”)</> : null}
        {props.expires ? <> until {utcMinute(props.expires)}</> : null}.
      </p>
      <h2>Token</h2>
      <div class="copy-row">
        <code id="token-value">{props.token}</code>
        <button type="button" class="small secondary" data-copy="token-value" aria-label="copy the token">
          Copy
        </button>
      </div>
      <h2>Try it</h2>
      <pre>
        <code id="token-usage">{`curl -H "Authorization: bearer ${props.token}" ${props.origin}/api/flist/me`}</code>
      </pre>
      <p>
        <a href="/account">Manage your tokens</a>
      </p>
    </section>
  );
}

/** A confirmation form of the signed-in user (logout), carrying the CSRF token. */
export function LogoutForm(props: { csrf: string }) {
  return (
    <form method="post" action="/logout">
      <input type="hidden" name={CSRF_FIELD} value={props.csrf} />
      <button type="submit" class="secondary">
        Sign out
      </button>
    </form>
  );
}
