/**
 * Test images shared by the conversion tests (converter/test/oci-*.test.ts) and the end-to-end docker tests
 * (e2e/docker.test.ts), built with umoci into an OCI layout (support/registry.ts `OciLayout`).
 */
import { chmod, chown, link, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type OciLayout, run } from "./registry.ts";

/** Deterministic "random" content so every run builds the same image. */
export function pseudoRandom(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export async function put(rootfs: string, path: string, data: string | Buffer, mode = 0o644, uid = 0, gid = 0): Promise<void> {
  const full = join(rootfs, path);
  await mkdir(join(full, ".."), { recursive: true });
  await writeFile(full, data);
  await chown(full, uid, gid);
  await chmod(full, mode);
}

/**
 * The image the conversion tests compare with `umoci unpack`: four layers with everything a flist must carry —
 * setuid/setgid bits, non-root owners, symlinks (relative, absolute, dangling), a fifo and a device node,
 * hardlinks within a layer and across layers, file and directory whiteouts, an opaque directory, an empty layer,
 * and a config with entrypoint, cmd, env, workdir, ports, volumes, labels and user. (Root is needed for the
 * device node and the owners, as the tests run.)
 */
export async function buildLayeredImage(oci: OciLayout, tag: string): Promise<void> {
  await oci.newImage(tag);
  // Layer 1: a small root filesystem with everything the flist must carry.
  await oci.change(tag, async (r) => {
    await put(r, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n");
    await put(r, "etc/group", "root:x:0:\nstaff:x:50:\napp:x:1000:\n");
    await put(r, "bin/tool", "#!/bin/sh\necho tool\n", 0o4755);
    await put(r, "bin/grouptool", "#!/bin/sh\n", 0o2755, 0, 50);
    await mkdir(join(r, "tmp"));
    await chmod(join(r, "tmp"), 0o1777);
    await put(r, "home/app/notes.txt", "private notes\n", 0o600, 1000, 1000);
    await chown(join(r, "home/app"), 1000, 1000);
    await chmod(join(r, "home/app"), 0o700);
    await put(r, "opt/keep/a", "a\n");
    await put(r, "opt/keep/b", "b\n");
    await put(r, "opt/opaque/x", "x\n");
    await put(r, "opt/opaque/sub/z", "z\n");
    await put(r, "var/gone.txt", "deleted in layer 2\n");
    await put(r, "var/gonedir/f", "deleted with its directory\n");
    await put(r, "data/big", pseudoRandom(1_500_000, 7));
    await put(r, "data/empty", "");
    await mkdir(join(r, "usr/bin"), { recursive: true });
    await symlink("../../bin/tool", join(r, "usr/bin/tool"));
    await symlink("/etc/passwd", join(r, "etc/abs-link"));
    await symlink("/nowhere", join(r, "dangling"));
    await mkdir(join(r, "run"));
    await run("mkfifo", [join(r, "run/fifo")]);
    await mkdir(join(r, "dev"));
    await run("mknod", ["-m", "666", join(r, "dev/null"), "c", "1", "3"]);
    await put(r, "same-inode/one", "hardlinked within a layer\n");
    await link(join(r, "same-inode/one"), join(r, "same-inode/two"));
    await put(r, ".README.md", "# test image\n");
  });
  // Layer 2 (umoci computes it): deletions become whiteouts, changes of mode/owner/content.
  await oci.change(tag, async (r) => {
    await rm(join(r, "var/gone.txt"));
    await rm(join(r, "var/gonedir"), { recursive: true });
    await put(r, "etc/hostname", "changed\n");
    await chmod(join(r, "opt/keep/a"), 0o640);
    await chown(join(r, "opt/keep/a"), 1000, 50);
  });
  // Layer 3 (hand-made): an opaque directory, a hardlink to a file of layer 1, whiteouts written by hand.
  await oci.addLayer(tag, [
    { name: "opt/opaque/", type: "directory", mode: 0o750 },
    { name: "opt/opaque/early.txt", data: "same layer as the opaque marker, before it: kept\n" },
    { name: "opt/opaque/.wh..wh..opq" },
    { name: "opt/opaque/new.txt", data: "only this survives\n" },
    { name: "opt/opaque/sub/", type: "directory" }, // re-created empty: its lower content stays hidden
    { name: "same/", type: "directory" },
    { name: "same/kept", data: "a whiteout never hides an entry of its own layer\n" },
    { name: "same/.wh.kept" },
    { name: "hl/", type: "directory" },
    { name: "hl/big-link", type: "link", linkname: "data/big" },
    { name: "opt/keep/.wh.b" },
    { name: ".wh.never-existed" },
    { name: "bin/tool2", data: "tool2\n", mode: 0o4711, uid: 1000, gid: 1000 },
  ]);
  // Layer 4: empty.
  await oci.addLayer(tag, []);
  await oci.config(tag, [
    "--config.entrypoint", "/bin/tool",
    "--config.cmd", "serve", "--config.cmd", "--port=80",
    "--config.env", "PATH=/usr/bin:/bin", "--config.env", "GREETING=hello=world",
    "--config.workingdir", "/home/app",
    "--config.exposedports", "80/tcp", "--config.exposedports", "53/udp",
    "--config.volume", "/data",
    "--config.label", "org.example.name=test image",
    "--config.user", "app",
    "--created", "2024-01-02T03:04:05Z",
  ]);
}

/** A one-layer image whose /etc/arch names its architecture (for multi-platform indexes). */
export async function buildArchImage(oci: OciLayout, tag: string, arch: string): Promise<void> {
  await oci.newImage(tag);
  await oci.addLayer(tag, [{ name: "etc/", type: "directory" }, { name: "etc/arch", data: `${arch}\n` }]);
  await oci.config(tag, ["--architecture", arch, "--os", "linux"]);
}
