// A custom scorer for `score command(...)`: reads the case's session log (JSON
// lines) on stdin and prints {"score": 0..1, "reason": "..."}. Here: the share
// of the agent's replies that stay calm (no exclamation marks, no capitals
// shouting), a stand-in for whatever your team measures.
"use strict";

let raw = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (raw += chunk));
process.stdin.on("end", () => {
  const events = raw
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line));
  const replies = events.filter((e) => e.type === "turn.end" && e.reply).map((e) => e.reply);
  const calm = replies.filter((r) => !r.includes("!") && !/\b[A-Z]{4,}\b/.test(r));
  const score = replies.length ? calm.length / replies.length : 0;
  process.stdout.write(
    JSON.stringify({ score, reason: `${calm.length} of ${replies.length} replies are calm` }) + "\n",
  );
});
