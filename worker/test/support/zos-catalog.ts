/**
 * A small Zero-OS release catalog as the zos CI builds it with publish-flist: builds in `tf-autobuilder`,
 * a release tag there, and taglinks per run mode in `tf-zos` (crosstags).
 */
import { expect } from "vitest";
import { me, publish } from "./hub";

export const RUN_MODES = ["production", "development", "testing", "qa", "production-v3light", "production-v4"];

async function ok(user: string, path: string): Promise<void> {
  const res = await me(user, path);
  expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(200);
}

export async function seedZosCatalog(): Promise<void> {
  await publish("tf-autobuilder", "zos:v3.1.0", "main");
  await publish("tf-autobuilder", "bootstrap-v3.1.0", "overlay");
  await publish("tf-autobuilder", "empty-image", "empty");
  await ok("tf-autobuilder", "/zos:v3.1.0/link/zos:latest");
  await ok("tf-autobuilder", "/v3.1.0/zos/tag/tf-autobuilder/zos:v3.1.0");
  await ok("tf-autobuilder", "/v3.1.0/bootstrap/tag/tf-autobuilder/bootstrap-v3.1.0");
  await ok("tf-autobuilder", "/v3.1.0/zos-latest/tag/tf-autobuilder/zos:latest");
  for (const mode of RUN_MODES) await ok("tf-zos", `/${mode}/crosstag/tf-autobuilder/v3.1.0`);
  await ok("tf-zos", "/zos:current/crosslink/tf-autobuilder/zos:latest");
}
