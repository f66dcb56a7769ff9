/** Who the navbar shows as signed in: the session of session.ts, reduced to what the layout shows. */
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { getSession } from "./session";

export interface NavUser {
  user: string;
  repository: string;
}

export async function navUser(c: Context<AppEnv>): Promise<NavUser | null> {
  const session = await getSession(c);
  return session ? { user: session.user, repository: session.repository } : null;
}
