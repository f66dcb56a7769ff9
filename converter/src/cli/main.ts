/** The `zhub` command (npm run zhub -- …, or the package bin converter/bin/zhub.js). */
import { run } from "./run.ts";

const code = await run(process.argv.slice(2));
// Exit explicitly: an idle store connection or worker must not keep a finished command alive.
process.exit(code);
