/** A stream slowed down on purpose: the converter's CONVERTER_TEST_INPUT_BYTES_PER_SECOND test knob (a slow consumer). */
import { type Readable, Transform, pipeline } from "node:stream";

/** `source` passed through at about `bytesPerSecond`; errors and destruction pass both ways. */
export function paced(source: Readable, bytesPerSecond: number): Readable {
  const pause = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      setTimeout(() => done(null, chunk), (chunk.length * 1000) / bytesPerSecond);
    },
  });
  return pipeline(source, pause, () => undefined);
}
