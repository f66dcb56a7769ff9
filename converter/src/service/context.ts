/** What a pipeline gets to run one job attempt. */
import type { ChunkStore } from "../store/index.ts";
import type { ConverterConfig } from "./config.ts";
import type { EventReporter } from "./events.ts";
import type { HubClient } from "./hub.ts";
import type { InlineInput } from "./inline.ts";

export interface JobContext {
  config: ConverterConfig;
  hub: HubClient;
  /** Opens (or reuses) the shared chunk store; fails with a StoreError when it is unreachable. */
  store: () => Promise<ChunkStore>;
  events: EventReporter;
  /** Aborted when the attempt became stale (409) or the service shuts down. */
  signal: AbortSignal;
  /** A private temporary directory, removed after the job. */
  tmpDir: string;
  log: (line: string) => void;
  /** `tar` jobs of a streamed upload: the archive, sent inline with the job (inline.ts). */
  input?: InlineInput;
}
