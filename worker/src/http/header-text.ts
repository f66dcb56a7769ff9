/**
 * Text of a header that carries a name (`X-Original-Name`, `X-Hub-Repository`, the `active-user` cookie). HTTP
 * hands header bytes over as Latin-1, so a client that writes the name as UTF-8 (curl, browsers, Python) would be
 * read as mojibake — `☃` as `â\x98\x83`, which even holds C1 control characters. Bytes that form valid UTF-8 are
 * read as UTF-8; anything else stays as received, and the name rule judges it.
 */
const utf8 = new TextDecoder("utf-8", { fatal: true });

export function headerText(value: string): string;
export function headerText(value: string | undefined): string | undefined;
export function headerText(value: string | undefined): string | undefined {
  if (value === undefined || !/[\u0080-\u00ff]/.test(value) || /[^\u0000-\u00ff]/.test(value)) return value;
  const bytes = Uint8Array.from(value, (ch) => ch.charCodeAt(0));
  try {
    return utf8.decode(bytes);
  } catch {
    return value;
  }
}
