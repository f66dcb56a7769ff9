/**
 * The site's page frame: navbar (publish pages, search, who is signed in), main content, footer.
 *
 * Stable API for every page of the site (pages, sign-in, account):
 *   `<Layout title="…" c={c}>…</Layout>` rendered with `c.html(...)`, or `renderPage(c, { title }, body)`.
 * No inline scripts or styles: the Content-Security-Policy (see `security.ts`) forbids them; behaviour lives in
 * `/static/site.<hash>.js`, wired by `data-*` attributes.
 */
import type { Context } from "hono";
import type { Child } from "hono/jsx";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv } from "../env";
import { navUser, type NavUser } from "./nav-user";
import { signInUrl } from "./session";
import { assetPath } from "./static/assets";

export interface LayoutProps {
  /** Page title; " · Zero-OS Hub" is appended. */
  title: string;
  c: Context<AppEnv>;
  /** Which navbar item to mark as current (optional). */
  active?: NavKey;
  /** Extra class on `<main>` (e.g. "wide" for tables). */
  mainClass?: string;
  children?: Child;
}

export type NavKey = "upload" | "docker" | "merge" | "homemade" | "search" | "account" | "signin";

const NAV: { key: NavKey; href: string; label: string }[] = [
  { key: "upload", href: "/upload", label: "Upload" },
  { key: "docker", href: "/docker-convert", label: "Docker" },
  { key: "merge", href: "/merge", label: "Merge" },
  { key: "homemade", href: "/upload-flist", label: "Homemade" },
  { key: "search", href: "/search", label: "Search" },
];

function UserMenu({ user, here }: { user: NavUser | null; here: string }) {
  if (!user) {
    return (
      <div class="nav-user">
        <a href={signInUrl(here)}>Sign in</a>
      </div>
    );
  }
  return (
    <div class="nav-user">
      <a href="/account" title={`signed in as ${user.user}`}>
        {user.repository === user.user ? user.user : `${user.user} → ${user.repository}`}
      </a>
      <a href="/logout">Sign out</a>
    </div>
  );
}

export async function Layout({ title, c, active, mainClass, children }: LayoutProps) {
  const user = await navUser(c);
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · Zero-OS Hub`}</title>
        <link rel="stylesheet" href={assetPath("css")} />
        <link rel="icon" href="data:," />
        <script src={assetPath("js")} defer></script>
      </head>
      <body>
        <header class="navbar">
          <a class="brand" href="/">
            Zero-OS Hub
          </a>
          <input type="checkbox" id="nav-toggle" class="nav-toggle" aria-label="menu" />
          <label for="nav-toggle" class="nav-burger" aria-hidden="true">
            ☰
          </label>
          <nav class="nav-links">
            {NAV.map((item) => (
              <a href={item.href} aria-current={item.key === active ? "page" : undefined}>
                {item.label}
              </a>
            ))}
          </nav>
          <UserMenu user={user} here={new URL(c.req.url).pathname} />
        </header>
        <main class={mainClass ? `main ${mainClass}` : "main"}>{children}</main>
        <footer class="footer">
          <span>© {new Date().getUTCFullYear()} · Zero-OS Hub</span>
          <a href="/search">Search</a>
          <a href="/api/docs">API</a>
        </footer>
      </body>
    </html>
  );
}

/** Renders a page in the layout with a status (the HTML doctype is added here). */
export async function renderPage(
  c: Context<AppEnv>,
  props: Omit<LayoutProps, "c" | "children">,
  body: Child,
  status: ContentfulStatusCode = 200,
): Promise<Response> {
  // An async component renders to a promise of the markup: await it before prefixing the doctype.
  const html = await (
    <Layout {...props} c={c}>
      {body}
    </Layout>
  ).toString();
  return c.html(`<!doctype html>${html}`, status);
}
