/**
 * Replays the grid SDKs (tfgrid-sdk-go grid-client/workloads/flist.go `ValidateFlist`/`GetFlistChecksum`, and
 * the dashboard's select_vm_image.vue; docs/clients.md §5 tests 7–8): `HEAD <flist>` must be 200, `.md5`
 * (TrimSpace) is the checksum pinned as `flist_checksum`, and the browser fetch needs CORS.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { fetchHub, fixtureBytes, md5Hex, migrate, publish } from "./support/hub";

const FLIST = "/tf-official-apps/ubuntu-22.04.flist";

beforeAll(async () => {
  await migrate();
  await publish("tf-official-apps", "ubuntu-22.04", "overlay");
});

describe("grid SDK", () => {
  it("ValidateFlist: HEAD <flist> is 200, then GET <flist>.md5 gives the checksum", async () => {
    const head = await fetchHub(FLIST, { method: "HEAD" });
    expect(head.status).toBe(200);
    const checksum = (await (await fetchHub(`${FLIST}.md5`)).text()).trim();
    expect(checksum).toBe(await md5Hex(fixtureBytes("overlay")));
    // A pinned flist_checksum equal to the .md5 answer validates.
    expect(checksum).toBe(head.headers.get("ETag")!.replaceAll('"', ""));
  });

  it("dashboard: fetch(flist + '.md5') from another origin is 200 with Access-Control-Allow-Origin", async () => {
    const res = await fetchHub(`${FLIST}.md5`, { headers: { Origin: "https://dashboard.grid.tf" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("*");
  });
});
