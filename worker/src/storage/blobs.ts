/**
 * R2 layout: every distinct .flist is stored once under its SHA-256, its contents listing next to it.
 * Entries, links, promotes and renames only point at these keys (no byte is ever copied).
 */

export function blobKey(sha256: string): string {
  return `blobs/${sha256}`;
}

export function contentsKey(sha256: string): string {
  return `blobs/${sha256}.contents.json`;
}

/** Writes the .flist bytes; R2 re-checks the MD5 we computed, so a corrupted transfer is refused. */
export async function putBlob(bucket: R2Bucket, sha256: string, md5: string, body: Blob): Promise<void> {
  await bucket.put(blobKey(sha256), body, {
    md5,
    httpMetadata: { contentType: "application/octet-stream" },
  });
}

export async function putContents(bucket: R2Bucket, sha256: string, listingJson: string): Promise<void> {
  await bucket.put(contentsKey(sha256), listingJson, {
    httpMetadata: { contentType: "application/json" },
  });
}
