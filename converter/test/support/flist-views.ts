/** Assertion shared by the view and round-trip tests: a tree lists exactly like a reference flist. */
import { expect } from "vitest";
import type { FlistTree } from "../../src/flist/model.ts";
import { findView, lsView, metadataGetView, metadataListView, statView, zflistJson } from "../../src/flist/views.ts";
import { expectedCases, expectedMetadataGets, expectedResponse } from "./flist-fixtures.ts";

/** Every JSON view of `tree` must equal what zflist printed for the reference flist `name`. */
export function expectZflistViews(tree: FlistTree, name: string): void {
  expect(findView(tree)).toEqual(expectedResponse(name, "find.json"));
  for (const c of expectedCases(name, "ls.json")) {
    expect(zflistJson(() => lsView(tree, c.path)), `ls ${c.path}`).toEqual(c.output);
  }
  for (const c of expectedCases(name, "stat.json")) {
    expect(zflistJson(() => statView(tree, c.path as string)), `stat ${c.path}`).toEqual(c.output);
  }
  expect(metadataListView(tree)).toEqual(expectedResponse(name, "metadata.json"));
  for (const [key, response] of expectedMetadataGets(name)) {
    expect(metadataGetView(tree, key), `metadata ${key}`).toEqual(response);
  }
  for (const c of expectedCases(name, "errors.json")) {
    const command = (c.command as string).replace(/\s+#.*$/, "").split(/\s+/);
    const [, action, arg] = command;
    if (action === "stat") expect(zflistJson(() => statView(tree, arg as string)), c.command).toEqual(c.output);
    if (action === "ls") expect(zflistJson(() => lsView(tree, arg)), c.command).toEqual(c.output);
  }
}
