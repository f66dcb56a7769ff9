/** Value formats of the original hub's JSON. */

/**
 * Listing sizes: Python `"%.2f KB" % (size / 1024)`. Python rounds the exact binary value half-to-even,
 * JS `toFixed` rounds half up, so e.g. 128 bytes would give "0.13 KB" instead of "0.12 KB": compute in
 * integer hundredths instead (size/1024 is always exact in binary).
 */
export function kbString(size: number): string {
  const scaled = size * 25; // size / 1024 * 100 = size * 25 / 256
  let hundredths = Math.floor(scaled / 256);
  const rest = scaled % 256;
  if (rest > 128 || (rest === 128 && hundredths % 2 === 1)) hundredths += 1;
  const whole = Math.floor(hundredths / 100);
  const frac = String(hundredths % 100).padStart(2, "0");
  return `${whole}.${frac} KB`;
}

/** A tag directory's listing size in the original (`"0 KB"`, not formatted with decimals). */
export const TAG_SIZE = "0 KB";

/** `stat()` size of a directory on the original's ext4 volume, which a taglink listing showed. */
export const DIRECTORY_SIZE = 4096;

/** Byte length of a string, i.e. the `lstat` size of a symlink whose target is that string. */
export function byteLength(value: string): number {
  return new TextEncoder().encode(value).length;
}
