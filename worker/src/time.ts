/** The Worker's clock: catalog rows, jobs and sessions all store Unix seconds. */

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** An HTTP date (`Last-Modified`) of Unix seconds. */
export function httpDate(seconds: number): string {
  return new Date(seconds * 1000).toUTCString();
}
