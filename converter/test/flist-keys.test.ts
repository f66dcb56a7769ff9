import { describe, expect, it } from "vitest";
import { ROOT_KEY, aclKey, aclString, dirKey } from "../src/flist/keys.ts";

describe("directory keys (docs/flist-format.md §1.3)", () => {
  it("matches the spec vectors", () => {
    expect(dirKey("")).toBe("cae66941d9efbd404e4d88758ea67670");
    expect(ROOT_KEY).toBe(dirKey(""));
    expect(dirKey("sub")).toBe("73d580a1148567000871c163ef0e1ea3");
    expect(dirKey("bin")).toBe("9385d23818077a26310b147ebd80bb7b");
    expect(dirKey("etc")).toBe("9308da158ed557db704826796bca9f68");
    expect(dirKey("usr/bin")).toBe("46c939da162118cf47886fe40f8b5600");
    expect(dirKey("etc/ssl/certs")).toBe("88b9136b608404a3eaf63fdbeaaa13c8");
  });

  it("ignores leading and trailing slashes, hashes UTF-8 bytes", () => {
    expect(dirKey("/")).toBe(ROOT_KEY);
    expect(dirKey("/usr/bin/")).toBe(dirKey("usr/bin"));
    // names/日本 in the reference main.flist
    expect(dirKey("names/日本")).toBe("1d553f7bd02a300fad1ec9863c6fa9a9");
  });
});

describe("ACL keys (docs/flist-format.md §1.3)", () => {
  const root = { user: "root", group: "root", uid: 0, gid: 0 };
  it("matches the spec vectors", () => {
    expect(aclKey({ ...root, mode: 0o755 })).toBe("d7683de000c13689");
    expect(aclKey({ ...root, mode: 0o644 })).toBe("5f64cf1389d15471");
    expect(aclKey({ ...root, mode: 0o777 })).toBe("73e6e9d75d19d7da");
    expect(aclKey({ ...root, mode: 0o640 })).toBe("fc9361a58f7ce7fe");
  });

  it("hashes the exact zflist string (no trailing newline, %ld ids, special bits)", () => {
    expect(aclString({ user: "nobody", group: "nogroup", mode: 0o620, uid: 65534, gid: -1 }))
      .toBe("user:nobody\ngroup:nogroup\nmode:0o620\nuid:65534\ngid:-1");
    // reference main.flist keys: 4242:4343 0700, cloudsdk 02775
    expect(aclKey({ user: "4242", group: "4343", mode: 0o700, uid: 4242, gid: 4343 })).toBe("f4d4f6766c168065");
    expect(aclKey({ user: "cloudsdk", group: "cloudsdk", mode: 0o2775, uid: 1000, gid: 1000 })).toBe("c1f753aee91e6ddd");
  });
});
