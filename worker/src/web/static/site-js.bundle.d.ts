/**
 * The website's browser script, minified: worker/src/web/browser/ bundled by scripts/build-site-js.ts into the
 * git-ignored site-js.bundle.js next to this file (wrangler's `[build]` and the worker tests run it first).
 */
export declare const SITE_JS: string;
