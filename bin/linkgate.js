#!/usr/bin/env node
// The version check comes before any import of linkgate's code, so that an old Node.js gets one
// clear line instead of a syntax or module error from deep inside.
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 13)) {
  process.stderr.write(
    `linkgate: Node.js ${process.versions.node} is too old: linkgate needs Node.js 22.13 or later (24 LTS recommended).\n` +
      "In a checkout, `npm start`, `npm run ...` and `npx linkgate` use the Node.js 24 that `npm install` put in node_modules.\n",
  );
  process.exit(1);
}
const { main } = await import("../dist/cli/main.js");
process.exitCode = await main(process.argv.slice(2));
