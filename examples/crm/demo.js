// `npm start`'s turn of the CRM example: starts server.js's token endpoint and
// orders API on free loopback ports, with a client secret made up for this
// run, then runs main.agent with the scripted reply in demo.script.json, the
// connection's url, token url, client id and secret given in the CLI's
// environment. It prints the CLI's output, stops the servers and exits with
// the CLI's code.
//
//   node examples/crm/demo.js [--workspace DIR] [--client-secret S] [--report FILE]
//
// --workspace DIR     where the session is written (default: the agent file's project)
// --client-secret S   the secret given to the agent instead of the right one (shows invalid_client)
// --report FILE       writes { clientId, clientSecret, issued } there after the run, for tests

"use strict";

const { spawn } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { startCrm } = require("./server.js");

const ROOT = path.resolve(__dirname, "..", "..");
const FLAGS = ["--workspace", "--client-secret", "--report"];

function parse(argv) {
  const flags = {};
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i];
    if (!FLAGS.includes(name)) throw new Error(`unknown argument '${name}' (expected ${FLAGS.join(", ")})`);
    if (i + 1 >= argv.length) throw new Error(`${name} needs a value`);
    flags[name.slice(2)] = argv[++i];
  }
  return flags;
}

async function main() {
  let flags;
  try {
    flags = parse(process.argv.slice(2));
  } catch (err) {
    console.error(`demo.js: ${err.message}`);
    return 2;
  }
  const clientId = "order-desk";
  const clientSecret = crypto.randomBytes(24).toString("base64url");
  const crm = await startCrm({ clientId, clientSecret });
  try {
    const args = [
      path.join(ROOT, "dist", "cli.js"),
      "run",
      "examples/crm/main.agent",
      "--agent",
      "order_desk",
      "--script",
      "examples/crm/demo.script.json",
      "--input",
      "Where is my order A1003, and what did it cost?",
    ];
    if (flags.workspace) args.push("--workspace", path.resolve(flags.workspace));
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      stdio: "inherit",
      env: {
        ...process.env,
        CRM_URL: crm.apiUrl,
        CRM_TOKEN_URL: crm.tokenUrl,
        CRM_CLIENT_ID: clientId,
        CRM_CLIENT_SECRET: flags["client-secret"] ?? clientSecret,
      },
    });
    const code = await new Promise((resolve) => {
      child.on("error", (err) => {
        console.error(`demo.js: could not start the CLI: ${err.message}`);
        resolve(1);
      });
      child.on("exit", (c, signal) => resolve(c ?? (signal ? 1 : 0)));
    });
    if (flags.report)
      fs.writeFileSync(flags.report, JSON.stringify({ clientId, clientSecret, issued: crm.issued }, null, 2));
    return code;
  } finally {
    await crm.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`demo.js: ${err.message}`);
    process.exit(1);
  },
);
