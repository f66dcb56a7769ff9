/** JSON requests of the site's script to the hub's own routes. */

interface HubAnswer {
  message?: string;
  payload?: unknown;
}

/** GET a JSON route; a non-2xx answer rejects with the hub's message. */
export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { headers: { Accept: "application/json" } });
  const body = (await res.json()) as (T & HubAnswer) | null;
  if (!res.ok) throw new Error(body?.message ? body.message : `HTTP ${res.status}`);
  return body as T;
}

/** The `payload` of a successful `{status: "success", payload}` answer; otherwise an Error with the hub's message. */
export function parseAnswer(status: number, text: string): unknown {
  let body: HubAnswer | null = null;
  try {
    body = JSON.parse(text) as HubAnswer | null;
  } catch {
    // not JSON: the status says what happened
  }
  if (status >= 200 && status < 300 && body?.payload) return body.payload;
  let message = body?.message ? body.message : `the hub answered HTTP ${status}`;
  if (status === 403) message += " (reload the page: your session may have changed)";
  throw new Error(message);
}
