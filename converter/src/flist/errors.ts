/** Errors raised for input that is not a valid flist; `message` says which rule failed. */
export class FlistFormatError extends Error {
  override name = "FlistFormatError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A tree that the writer refuses (would produce a flist that other readers misread). */
export class FlistTreeError extends Error {
  override name = "FlistTreeError";
}
