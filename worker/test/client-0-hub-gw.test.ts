/**
 * Replays 0-hub-gw's token check (0-hub-gw main.go verifyTokenHub; docs/clients.md §5 test 13):
 * `GET /api/flist/me` with `Authorization: bearer <token>` (lower-case scheme, no cookie); accept unless the
 * JSON body says `"status": "error"`, username from `payload.username`.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { signToken } from "../src/auth/tokens";
import { fetchHub, migrate, tokenFor } from "./support/hub";

beforeAll(migrate);

async function gatewayCheck(token: string): Promise<{ accepted: boolean; username?: string }> {
  const res = await fetchHub("/api/flist/me", { headers: { Authorization: `bearer ${token}` } });
  const body = (await res.json()) as { status: string; payload?: { username: string } };
  if (body.status === "error") return { accepted: false };
  return { accepted: true, username: body.payload?.username };
}

describe("0-hub-gw", () => {
  it("a good token gives the username", async () => {
    expect(await gatewayCheck(await tokenFor("bob.3bot"))).toEqual({ accepted: true, username: "bob.3bot" });
  });

  it("bad tokens give a JSON body with status error", async () => {
    const other = await signToken("1111111111111111111111111111111111111111111111111111111111111111", "bob.3bot");
    for (const token of ["", "garbage", "AAAA====", other, (await tokenFor("bob.3bot")).slice(0, -4)]) {
      expect(await gatewayCheck(token), token).toEqual({ accepted: false });
    }
  });
});
