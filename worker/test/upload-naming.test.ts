/**
 * Upload naming rules (docs/compatibility.md §2): Werkzeug `secure_filename` on the form's file name, `X-Original-Name`
 * reduced to its basename only, `.tar.gz` stripped for archives, `.flist` kept for homemade flists, and the
 * catalog's own name rules on the result.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { secureFilename, uploadTargetName } from "../src/uploads/naming";
import { migrate } from "./support/hub";
import { fakeArchive, postUpload, stubConverter, uploadForm } from "./support/jobs";

const stub = stubConverter();
beforeAll(migrate);
// Not restored: the real Queue may still deliver this file's messages after its last test.

describe("secure_filename", () => {
  it.each([
    ["My App (1).tar.gz", "My_App_1.tar.gz"],
    ["../../etc/passwd", "etc_passwd"],
    ["  spaced\tout  name.tar.gz", "spaced_out_name.tar.gz"],
    ["café-crème.tar.gz", "cafe-creme.tar.gz"],
    ["日本語.tar.gz", "tar.gz"],
    ["._hidden_.tar.gz", "hidden_.tar.gz"],
    ["a:b;c$d.tar.gz", "abcd.tar.gz"],
    ["ｆｕｌｌｗｉｄｔｈ.tar.gz", "fullwidth.tar.gz"],
    ["...", ""],
  ])("%j → %j", (input, expected) => {
    expect(secureFilename(input)).toBe(expected);
  });
});

describe("target names", () => {
  it.each([
    ["tar", "My App (1).tar.gz", undefined, "My_App_1.flist"],
    ["tar", "app.tar.gz", "/home/me/builds/tf-bootable/ubuntu:18.04.tar.gz", "ubuntu:18.04.flist"],
    ["tar", "app.tar.gz", "relative name with spaces.tar.gz", "relative name with spaces.flist"],
    ["tar", "archive.tar.gz.tar.gz", undefined, "archive.tar.gz.flist"],
    ["tar", "app.flist.tar.gz", undefined, "app.flist"],
    ["flist", "x.flist", undefined, "x.flist"],
    ["flist", "My X.flist", undefined, "My_X.flist"],
    ["flist", "x.flist", "/tmp/build/y.flist", "y.flist"],
    ["flist", "x.flist", "/tmp/build/noext", "noext.flist"],
  ] as const)("%s %j (X-Original-Name %j) → %j", (kind, filename, original, expected) => {
    expect(uploadTargetName(kind, filename, original)).toBe(expected);
  });

  it.each([
    ["tar", "x.tar.gz", ".."],
    ["tar", "x.tar.gz", "/tmp/dir/"],
    ["tar", "x.tar.gz", "bad\u0001name.tar.gz"],
    ["flist", "...", undefined],
    ["tar", "x.tar.gz", `${"a".repeat(300)}.tar.gz`],
  ] as const)("refuses %s %j (X-Original-Name %j) with a 400", (kind, filename, original) => {
    expect(() => uploadTargetName(kind, filename, original)).toThrow(/invalid name/);
  });
});

describe("through the upload route", () => {
  it("applies secure_filename, or X-Original-Name's basename, to the job's target", async () => {
    const archive = await fakeArchive();
    const plain = await postUpload("names", "/upload", uploadForm(archive, "My App (1).tar.gz"), { async: true });
    expect(plain.body.payload.name).toBe("My_App_1.flist");
    const original = await postUpload("names", "/upload", uploadForm(archive, "ignored.tar.gz"), {
      async: true,
      headers: { "X-Original-Name": "/home/user/tf-bootable/ubuntu:18.04.tar.gz" },
    });
    expect(original.body.payload.name).toBe("ubuntu:18.04.flist");
    const dotdot = await postUpload("names", "/upload", uploadForm(archive, "x.tar.gz"), {
      async: true,
      headers: { "X-Original-Name": "/tmp/.." },
    });
    expect(dotdot.status).toBe(400);
    expect(dotdot.body).toEqual({ status: "error", message: 'invalid name: name ".." is not allowed: it is . or ..' });
  });
});
