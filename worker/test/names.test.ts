/** Name rules and value formats shared by every route (pure functions). */
import { describe, expect, it } from "vitest";
import { kbString } from "../src/catalog/format";
import { cleanTarget, compareNames, flistNameSchema, nameProblem } from "../src/catalog/names";

describe("names", () => {
  it("refuses empty, dot names, slashes, control characters and names over 255 bytes", () => {
    expect(nameProblem("")).toBe("empty name");
    expect(nameProblem(".")).toMatch(/\.\./);
    expect(nameProblem("..")).toMatch(/\.\./);
    expect(nameProblem("a/b")).toMatch(/\//);
    expect(nameProblem("a\u0000b")).toMatch(/control/);
    expect(nameProblem("a\nb")).toMatch(/control/);
    expect(nameProblem("a\u007fb")).toMatch(/control/);
    expect(nameProblem("é".repeat(128))).toMatch(/255 bytes/);
    // What the original accepted and clients use: colons, spaces, dots, leading dots.
    for (const ok of ["zos:v1.flist", "a b", "..a", "a..b", ".hidden", "x".repeat(255)]) expect(nameProblem(ok)).toBeNull();
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
