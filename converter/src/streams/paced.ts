/** A stream slowed down on purpose: the converter's CONVERTER_TEST_INPUT_DELAY_MS test knob (a slow consumer). */
import { type Readable, Transform, pipeline } from "node:stream";

/** `source` passed through with a pause of `delayMs` after each piece; errors and destruction pass both ways. */
export function paced(source: Readable, delayMs: number): Readable {
  const pause = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      setTimeout(() => done(null, chunk), delayMs);
    },
  });
  return pipeline(source, pause, () => undefined);
}
