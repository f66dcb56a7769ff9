/**
 * Readmes rendered from markdown, safely: raw HTML in the source is not passed through (`html: false`, so a
 * `<script>` is shown as text), markdown-it's link validation drops `javascript:`/`vbscript:`/`file:` and
 * non-image `data:` URLs, and links leave the site with `rel="nofollow noopener noreferrer"`. The page's CSP is
 * the second line of defence.
 */
import MarkdownIt from "markdown-it";

const md = new MarkdownIt({ html: false, linkify: true, typographer: false });

const defaultLinkOpen =
  md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));

md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  const token = tokens[idx]!;
  const href = String(token.attrGet("href") ?? "");
  if (/^[a-z][a-z0-9+.-]*:/i.test(href)) {
    token.attrSet("rel", "nofollow noopener noreferrer");
  }
  return defaultLinkOpen(tokens, idx, options, env, self);
};

/** Readmes larger than this are cut (a flist's metadata may be up to 1 MiB). */
export const MAX_README_CHARS = 200_000;

export function renderMarkdown(source: string): string {
  return md.render(source.length > MAX_README_CHARS ? source.slice(0, MAX_README_CHARS) : source);
}

/** The readme text of flist metadata: `{"readme": "...", "license": "..."}` (zflist) or a plain string. */
export function readmeOf(metadata: Record<string, unknown>): { text: string | null; license: string | null } {
  const value = metadata.readme;
  if (typeof value === "string") return { text: value, license: null };
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    return {
      text: typeof o.readme === "string" ? o.readme : null,
      license: typeof o.license === "string" ? o.license : null,
    };
  }
  return { text: null, license: null };
}
