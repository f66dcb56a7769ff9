/**
 * The local front (scripts/lib/front.ts) and the Worker: the front keeps small public downloads and asks the Worker
 * again with `If-None-Match` each time (scripts/lib/front-cache.ts); when the Worker answers 304 the front sends the
 * kept body, so the download happened and must be counted. The front says so with this header, whose value is the
 * Worker's INTERNAL_SECRET (compared in constant time): no client can make a 304 count.
 */
export const FRONT_REVALIDATION_HEADER = "X-Hub-Front-Revalidation";
