// `npm run demo` (with `npm run dev` running): the README's walk, run by a real shell, each command
// printed as a person would type it, followed by its answer, which is checked against the sample
// the README shows. `--slow` pauses between steps like a person (longer than the runtime keeps an
// idle object), `--pause=SECONDS` sets the pause. Exits 1 on the first answer that differs.
import { spawn } from "node:child_process";
import { SERVICE } from "./local-ports.mjs";
import { matchesSample, WALK } from "./walkthrough.mjs";

const pauseArg = process.argv.find((arg) => arg.startsWith("--pause="));
const pauseS = pauseArg ? Number(pauseArg.slice("--pause=".length)) : process.argv.includes("--slow") ? 20 : 0;

try {
  await fetch(`${SERVICE}/healthz`, { signal: AbortSignal.timeout(3000) });
} catch {
  console.error(`Nothing answers at ${SERVICE}: start the service and the simulator first with \`npm run dev\` (in another terminal).`);
  process.exit(1);
}

/** One shell for the whole walk, so that variables set by a step are there for the next. */
const shell = spawn("sh", [], { stdio: ["pipe", "pipe", "pipe"] });
let output = "";
shell.stdout.on("data", (d) => (output += d));
shell.stderr.on("data", (d) => (output += d));
const DONE = "__demo_step_done__";

function runInShell(command) {
  output = "";
  shell.stdin.write(`${command}\necho ${DONE}\n`);
  return new Promise((resolve) => {
    const poll = setInterval(() => {
      const end = output.indexOf(`${DONE}\n`);
      if (end >= 0) {
        clearInterval(poll);
        resolve(output.slice(0, end));
      }
    }, 20);
  });
}

let failed = false;
for (const [i, step] of WALK.entries()) {
  if (i > 1 && pauseS > 0) {
    console.log(`\n(${pauseS} s pass, as between a person's steps…)`);
    await new Promise((resolve) => setTimeout(resolve, pauseS * 1000));
  }
  console.log(`\n# ${step.why}`);
  let printed = "";
  for (const command of step.run) {
    console.log(`$ ${command}`);
    const answer = await runInShell(command);
    if (answer) process.stdout.write(answer);
    printed += answer;
  }
  const expected = step.sample ?? "";
  if (!matchesSample(expected, printed)) {
    console.error(`\nThat answer is not what the README shows for this step:\n${expected}`);
    failed = true;
    break;
  }
}
shell.stdin.end();
console.log(failed ? "\nThe demo stopped at a step that went wrong (see above)." : "\nThe whole walk worked as the README shows it.");
process.exit(failed ? 1 : 0);
