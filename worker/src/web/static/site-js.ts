/** Behaviour of the site's pages (plain ES2020, wired by data-* attributes; filled in page by page). */
export const SITE_JS = String.raw`"use strict";
`;
