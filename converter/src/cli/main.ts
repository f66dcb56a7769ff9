/** The `zhub` command (npm run zhub -- …, the checkout's bin converter/bin/zhub.js, or the packed CLI). */
import { quietOnClosedPipes } from "./pipes.ts";
import { run } from "./run.ts";

quietOnClosedPipes();
const code = await run(process.argv.slice(2));
// Exit explicitly: an idle store connection or worker must not keep a finished command alive.
process.exit(code);
