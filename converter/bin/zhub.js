#!/usr/bin/env node
// The package bin: registers tsx's loader so the TypeScript CLI runs without a build step.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
