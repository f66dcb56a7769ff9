/**
 * Who the navbar shows as signed in. The session itself belongs to `session.ts` (sign-in developer); until it
 * exists nobody is signed in as far as the navbar is concerned.
 */
import type { Context } from "hono";
import type { AppEnv } from "../env";

export interface NavUser {
  user: string;
  repository: string;
}

export async function navUser(_c: Context<AppEnv>): Promise<NavUser | null> {
  return null;
}
