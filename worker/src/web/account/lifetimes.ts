/** Token lifetimes offered on My account, bounded by the hub's HUB_TOKEN_MAX_AGE (0 = no bound). */
import { tokenMaxAge } from "../../auth/middleware";

const DAY = 24 * 60 * 60;

export interface Lifetime {
  /** Form value: seconds, or "never". */
  value: string;
  label: string;
  seconds: number | null;
}

const ALL: Lifetime[] = [
  { value: String(DAY), label: "1 day", seconds: DAY },
  { value: String(7 * DAY), label: "7 days", seconds: 7 * DAY },
  { value: String(30 * DAY), label: "30 days", seconds: 30 * DAY },
  { value: String(90 * DAY), label: "90 days", seconds: 90 * DAY },
  { value: String(365 * DAY), label: "1 year", seconds: 365 * DAY },
  { value: "never", label: "No expiry", seconds: null },
];

/** The choices allowed by `HUB_TOKEN_MAX_AGE` (a longer one would be refused by the API anyway). */
export function lifetimes(maxAgeRaw: string | undefined): Lifetime[] {
  let max = 0;
  try {
    max = tokenMaxAge(maxAgeRaw);
  } catch {
    max = DAY; // a broken setting must not widen what is offered
  }
  if (max === 0) return ALL;
  const within = ALL.filter((l) => l.seconds !== null && l.seconds <= max);
  return within.length > 0 ? within : [{ value: String(max), label: `${max} seconds`, seconds: max }];
}

export const DEFAULT_LIFETIME = String(30 * DAY);
