/** Minimal readers for the client tests: gunzip with DecompressionStream, tar member names parsed by hand. */

export async function gunzip(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export interface TarMember {
  name: string;
  type: string; // "0" regular, "5" directory, "L" GNU long name, ...
  size: number;
}

function text(block: Uint8Array, start: number, length: number): string {
  const slice = block.subarray(start, start + length);
  const end = slice.indexOf(0);
  return new TextDecoder().decode(end === -1 ? slice : slice.subarray(0, end));
}

/** Walks the 512-byte tar headers (ustar/GNU), resolving GNU long names. */
export function tarMembers(tar: Uint8Array): TarMember[] {
  const out: TarMember[] = [];
  let offset = 0;
  let longName: string | null = null;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const size = parseInt(text(header, 124, 12).trim() || "0", 8);
    const type = String.fromCharCode(header[156] || 48);
    const prefix = text(header, 345, 155);
    let name = text(header, 0, 100);
    if (prefix && text(header, 257, 6).startsWith("ustar")) name = `${prefix}/${name}`;
    const dataStart = offset + 512;
    if (type === "L") {
      longName = text(tar, dataStart, size);
    } else {
      out.push({ name: longName ?? name, type, size });
      longName = null;
    }
    offset = dataStart + Math.ceil(size / 512) * 512;
  }
  return out;
}
