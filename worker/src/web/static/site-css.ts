/** The site's stylesheet: plain CSS, light/dark by preference, one column on phones. */
export const SITE_CSS = String.raw`
:root {
  --bg: #f6f7f9; --fg: #1d2330; --muted: #5d6677; --card: #fff; --line: #dfe3ea; --accent: #1565c0;
  --accent-fg: #fff; --ok: #1b7f3b; --bad: #b3261e; --code: #eef1f5; --nav: #1c2433; --nav-fg: #e8edf5;
  --radius: 8px; --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #12161d; --fg: #e3e8ef; --muted: #9aa5b5; --card: #1a2029; --line: #2c3441; --accent: #6aa9ff;
    --accent-fg: #0c1420; --code: #222a35; --nav: #0b0f15; --ok: #5fd38a; --bad: #ff8a80; }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--fg); display: flex; flex-direction: column; min-height: 100vh;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre, kbd, .mono { font-family: var(--mono); font-size: 0.9em; }
code { background: var(--code); padding: 0.1em 0.3em; border-radius: 4px; overflow-wrap: anywhere; }
pre { background: var(--code); padding: 0.75rem; border-radius: var(--radius); overflow-x: auto; }
pre code { background: none; padding: 0; }
h1 { font-size: 1.6rem; margin: 0.2rem 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1.2rem; margin: 1.6rem 0 0.6rem; }
h3 { font-size: 1.05rem; }

.navbar { background: var(--nav); color: var(--nav-fg); display: flex; flex-wrap: wrap; align-items: center;
  gap: 0.25rem 1rem; padding: 0.5rem 1rem; }
.navbar a { color: var(--nav-fg); }
.brand { font-weight: 700; font-size: 1.1rem; margin-right: 0.5rem; white-space: nowrap; }
.nav-links { display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; flex: 1; }
.nav-links a[aria-current="page"] { text-decoration: underline; text-underline-offset: 4px; }
.nav-user { display: flex; gap: 1rem; align-items: center; }
.nav-toggle, .nav-burger { display: none; }

.main { flex: 1; width: 100%; max-width: 1100px; margin: 0 auto; padding: 1.25rem 1rem 2rem; }
.footer { color: var(--muted); border-top: 1px solid var(--line); padding: 1rem; display: flex; gap: 1rem;
  justify-content: center; font-size: 0.9rem; flex-wrap: wrap; }

.card { background: var(--card); border: 1px solid var(--line); border-radius: var(--radius); padding: 1rem;
  margin: 0 0 1rem; }
.muted { color: var(--muted); }
.small { font-size: 0.875rem; }
.crumbs { color: var(--muted); font-size: 0.95rem; margin-bottom: 0.25rem; overflow-wrap: anywhere; }
.crumbs a { color: var(--muted); }
.badge { display: inline-block; font-size: 0.75rem; padding: 0.05rem 0.45rem; border-radius: 999px;
  border: 1px solid var(--line); color: var(--muted); vertical-align: middle; white-space: nowrap; }
.badge.official { border-color: var(--ok); color: var(--ok); }
.ok { color: var(--ok); }
.error, .alert { color: var(--bad); }
.alert { border: 1px solid var(--bad); border-radius: var(--radius); padding: 0.75rem 1rem; background: var(--card);
  margin-bottom: 1rem; overflow-wrap: anywhere; }
.notice { border: 1px solid var(--line); border-radius: var(--radius); padding: 0.75rem 1rem; background: var(--card); }

.hero { padding: 1rem 0 0.5rem; }
.hero p { color: var(--muted); margin-top: 0; }
.searchbox { display: flex; gap: 0.5rem; max-width: 640px; margin: 0.5rem 0 1.5rem; }
.searchbox input { flex: 1; }
input[type=text], input[type=search], input[type=file], input[type=number], select, textarea {
  font: inherit; color: inherit; background: var(--card); border: 1px solid var(--line); border-radius: 6px;
  padding: 0.45rem 0.6rem; min-width: 0; max-width: 100%; }
input:focus, select:focus, textarea:focus, button:focus-visible { outline: 2px solid var(--accent); outline-offset: 1px; }
button, .button { font: inherit; cursor: pointer; border: 1px solid var(--accent); background: var(--accent);
  color: var(--accent-fg); border-radius: 6px; padding: 0.45rem 0.9rem; display: inline-block; }
button.secondary, .button.secondary { background: transparent; color: var(--accent); }
button.small { padding: 0.1rem 0.5rem; font-size: 0.8rem; }
button:disabled { opacity: 0.55; cursor: default; }
label { display: block; font-weight: 600; margin: 0.75rem 0 0.25rem; }
.form-row { display: flex; gap: 0.5rem; flex-wrap: wrap; align-items: center; }
.form-row > input[type=text], .form-row > input[type=search] { flex: 1; }
.hint { color: var(--muted); font-size: 0.875rem; margin: 0.25rem 0; }
label.check { font-weight: normal; display: flex; gap: 0.5rem; align-items: baseline; }
details { margin: 0.75rem 0; }
summary { cursor: pointer; }

.table-wrap { overflow-x: auto; background: var(--card); border: 1px solid var(--line); border-radius: var(--radius); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.5rem 0.75rem; border-bottom: 1px solid var(--line); vertical-align: top; }
tr:last-child td { border-bottom: none; }
th { font-size: 0.85rem; color: var(--muted); font-weight: 600; white-space: nowrap; }
th button.sort { background: none; border: none; color: inherit; padding: 0; font-weight: 600; }
th[aria-sort=ascending] button.sort::after { content: " ▲"; }
th[aria-sort=descending] button.sort::after { content: " ▼"; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.name { overflow-wrap: anywhere; }
td.actions { white-space: nowrap; }
td.actions a + a { margin-left: 0.6rem; }
.target { color: var(--muted); font-size: 0.9rem; overflow-wrap: anywhere; }
.table-tools { display: flex; gap: 0.5rem; align-items: center; margin: 0 0 0.5rem; flex-wrap: wrap; }
.table-tools input { flex: 1; max-width: 420px; }

dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.4rem 1rem; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; min-width: 0; }
.copy-row { display: flex; gap: 0.5rem; align-items: center; min-width: 0; }
.copy-row code { flex: 1; min-width: 0; }
.grid2 { display: grid; grid-template-columns: 3fr 2fr; gap: 1rem; align-items: start; }
.stats { display: flex; gap: 1.5rem; flex-wrap: wrap; }
.stats div { display: flex; flex-direction: column; }
.stats b { font-size: 1.2rem; }

.readme { overflow-wrap: anywhere; }
.readme img { max-width: 100%; }
.readme table { width: auto; }

.tree { font-family: var(--mono); font-size: 0.88rem; list-style: none; padding-left: 0; margin: 0; }
.tree ul { list-style: none; padding-left: 1.1rem; margin: 0; border-left: 1px dotted var(--line); }
.tree li { padding: 0.08rem 0; overflow-wrap: anywhere; }
.tree button.dir { background: none; border: none; color: var(--accent); padding: 0; font: inherit; text-align: left; }
.tree .meta { color: var(--muted); margin-left: 0.5rem; }
.tree .link-target { color: var(--muted); }
.tree .more { font-family: inherit; }
.tree li.hidden { display: none; }

progress { width: 100%; height: 1.1rem; }
.events { max-height: 18rem; overflow-y: auto; font-family: var(--mono); font-size: 0.85rem; list-style: none;
  padding: 0.5rem; margin: 0.5rem 0; background: var(--code); border-radius: var(--radius); }
.events li.error { color: var(--bad); }
.layers { list-style: none; padding: 0; }
.layers li { margin: 0.3rem 0; }
.merge-list { list-style: decimal; padding-left: 1.5rem; }
.merge-list li { margin: 0.3rem 0; }
.merge-list li span { overflow-wrap: anywhere; }
.pick-results { list-style: none; padding: 0; margin: 0.5rem 0; max-height: 16rem; overflow-y: auto; }
.pick-results li { display: flex; justify-content: space-between; gap: 0.5rem; padding: 0.2rem 0;
  border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
.hidden { display: none !important; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
ul.results { list-style: none; padding: 0; }
ul.results li { padding: 0.4rem 0; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
.snippet { margin: 0.2rem 0 0; }
.error-page { text-align: center; padding: 3rem 0; }
mark { background: #ffe58a; color: #1d2330; }

@media (max-width: 700px) {
  body { font-size: 15px; }
  .main { padding: 0.75rem 0.6rem 1.5rem; }
  .nav-burger { display: block; margin-left: auto; cursor: pointer; font-size: 1.4rem; line-height: 1; padding: 0.2rem 0.4rem; }
  .nav-links, .nav-user { display: none; width: 100%; flex-direction: column; gap: 0.4rem; padding: 0.4rem 0; }
  .nav-toggle:checked ~ .nav-links, .nav-toggle:checked ~ .nav-user { display: flex; }
  .nav-user { align-items: flex-start; }
  .grid2 { grid-template-columns: 1fr; }
  dl.facts { grid-template-columns: 1fr; gap: 0.1rem; }
  dl.facts dd { margin-bottom: 0.5rem; }
  table.responsive thead { display: none; }
  table.responsive, table.responsive tbody, table.responsive tr, table.responsive td { display: block; width: 100%; }
  table.responsive tr { border-bottom: 1px solid var(--line); padding: 0.4rem 0; }
  table.responsive td { border: none; padding: 0.15rem 0.75rem; text-align: left; }
  table.responsive td[data-label]::before { content: attr(data-label) ": "; color: var(--muted); font-size: 0.85rem; }
  h1 { font-size: 1.3rem; }
}
`;
