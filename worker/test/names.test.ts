/** Name rules and value formats shared by every route (pure functions; docs/names.md). */
import { describe, expect, it } from "vitest";
import { kbString } from "../src/catalog/format";
import { app } from "../src/app";
import {
  RESERVED_REPOSITORY_NAMES,
  cleanTarget,
  compareNames,
  flistNameSchema,
  nameProblem,
  quoteName,
  refusal,
  repositoryProblem,
} from "../src/names";

describe("names", () => {
  it("refuses empty, dot names, slashes, control characters and names over 255 bytes", () => {
    expect(nameProblem("")).toBe("it is empty");
    expect(nameProblem(".")).toBe("it is . or ..");
    expect(nameProblem("..")).toBe("it is . or ..");
    expect(nameProblem("a/b")).toBe("it contains a slash");
    expect(nameProblem("a\u0000b")).toBe("it contains a control character (U+0000)");
    expect(nameProblem("a\nb")).toBe("it contains a control character (U+000A)");
    expect(nameProblem("a\u007fb")).toBe("it contains a control character (U+007F)");
    expect(nameProblem("é".repeat(128))).toBe("it is longer than 255 bytes in UTF-8");
    // What the original accepted and clients use: colons, spaces, dots, leading dots.
    for (const ok of ["zos:v1.flist", "a b", "..a", "a..b", ".hidden", "x".repeat(255)]) expect(nameProblem(ok)).toBeNull();
  });

  it("refuses backslashes, C1 controls, bidi controls, separators and unpaired surrogates", () => {
    expect(nameProblem("..\\..\\evil")).toBe("it contains a backslash");
    expect(nameProblem("a\u009bb")).toBe("it contains a control character (U+009B)");
    expect(nameProblem("a\u0085b")).toBe("it contains a control character (U+0085)");
    expect(nameProblem("a\u0080b")).toBe("it contains a control character (U+0080)");
    for (const cp of [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x200e, 0x200f, 0x061c]) {
      const hex = cp.toString(16).toUpperCase().padStart(4, "0");
      expect(nameProblem(`evil${String.fromCharCode(cp)}cod.exe`)).toBe(`it contains a bidirectional text control (U+${hex})`);
    }
    expect(nameProblem("a\u2028b")).toBe("it contains a line or paragraph separator (U+2028)");
    expect(nameProblem("a\ud800b")).toBe("it contains an unpaired UTF-16 surrogate");
    expect(nameProblem("b\udc00")).toBe("it contains an unpaired UTF-16 surrogate");
    // Letters of every script, symbols, emoji (surrogate pairs) and the joiners emoji sequences use stay allowed.
    for (const ok of ["☃-é", "Ünïcödé", "日本語", "ελληνικά", "עברית", "\u{1F600}", "👨\u200d👩\u200d👧", "a\u00a0b"]) {
      expect(nameProblem(ok), ok).toBeNull();
    }
  });

  it("reserves route words as repository names, only there", () => {
    for (const word of ["me", "api", "static", "streams", "images", "internal", "token", "listen", "jobs", "cdn-cgi"]) {
      expect(repositoryProblem(word), word).toBe("it is reserved for the hub's own routes");
      expect(nameProblem(word), word).toBeNull();
    }
    expect(repositoryProblem("☃-é")).toBeNull();
    expect(repositoryProblem("Me")).toBeNull();
    expect(repositoryProblem("a\\b")).toBe("it contains a backslash");
  });

  it("reserves every first path segment the app routes", () => {
    const words = new Set<string>();
    for (const route of app.routes) {
      const first = route.path.split("/")[1] ?? "";
      if (first !== "" && first !== "*" && !first.startsWith(":")) words.add(first);
    }
    expect(words.size).toBeGreaterThan(15);
    for (const word of words) expect(RESERVED_REPOSITORY_NAMES.has(word), word).toBe(true);
    // and `me`, whose `/api/flist/me` is every caller's own repository
    expect(app.routes.some((r) => r.path.startsWith("/api/flist/me/"))).toBe(true);
    expect(RESERVED_REPOSITORY_NAMES.has("me")).toBe(true);
  });

  it("quotes refused names without raw control or bidi characters", () => {
    expect(refusal("..\\..\\evil", "it contains a backslash")).toBe('name "..\\\\..\\\\evil" is not allowed: it contains a backslash');
    expect(quoteName("evil\u202ecod.exe")).toBe('"evil\\u202ecod.exe"');
    expect(quoteName("a\u009bb\u0085\u2028\u200b")).toBe('"a\\u009bb\\u0085\\u2028\\u200b"');
    expect(quoteName('say "hi"')).toBe('"say \\"hi\\""');
    expect(quoteName("☃-é")).toBe('"☃-é"');
    expect(quoteName("x".repeat(300))).toBe(`"${"x".repeat(64)}…"`);
  });

  it("normalises foo and foo.flist to foo.flist, and refuses .flist alone", () => {
    expect(flistNameSchema.parse("foo")).toBe("foo.flist");
    expect(flistNameSchema.parse("foo.flist")).toBe("foo.flist");
    expect(flistNameSchema.safeParse(".flist").success).toBe(false);
    expect(flistNameSchema.safeParse("x".repeat(250)).success).toBe(false); // 256 bytes once suffixed
  });

  it("cleans link targets like the original's clean_symlink", () => {
    expect(cleanTarget("x.flist")).toBe("x.flist");
    expect(cleanTarget("../u/x.flist")).toBe("u/x.flist");
    expect(cleanTarget("../u/.tag-v1")).toBe("u/tags/v1");
    expect(cleanTarget("../../u/x.flist")).toBe("u/x.flist");
  });

  it("sorts by code point like Python's sorted()", () => {
    const names = ["b", "\u{1F600}", "\uFFFD", "a", ".tag-z", "B"];
    expect([...names].sort(compareNames)).toEqual([".tag-z", "B", "a", "b", "\uFFFD", "\u{1F600}"]);
  });
});

describe("kbString", () => {
  it("formats like Python '%.2f KB' % (size / 1024), ties to even", () => {
    expect(kbString(0)).toBe("0.00 KB");
    expect(kbString(1024)).toBe("1.00 KB");
    expect(kbString(7040)).toBe("6.88 KB");
    expect(kbString(10 * 1024 * 1024)).toBe("10240.00 KB");
    expect(kbString(128)).toBe("0.12 KB"); // 0.125 → 0.12 (Python), not 0.13 (JS toFixed)
    expect(kbString(384)).toBe("0.38 KB"); // 0.375 → 0.38
    expect(kbString(4096)).toBe("4.00 KB");
  });
});
