// Tool `create_ticket`: reads { "subject": "...", "priority": "...", "order_id"?: "..." }
// on stdin, prints the new Ticket as JSON. The id is derived from the subject, so
// the same input always gives the same ticket.
"use strict";

const PRIORITIES = ["low", "normal", "high", "urgent"];

function fail(message) {
  process.stdout.write(JSON.stringify({ error: message }) + "\n");
  process.exit(1);
}

let raw = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (raw += chunk));
process.stdin.on("end", () => {
  let input;
  try {
    input = JSON.parse(raw);
  } catch {
    fail("input is not valid JSON");
  }
  if (input === null || typeof input !== "object" || Array.isArray(input))
    fail("input must be a JSON object");
  const subject = String(input.subject ?? "").trim();
  if (!subject) fail("subject is required");
  if (!PRIORITIES.includes(input.priority)) fail(`priority must be one of ${PRIORITIES.join(", ")}`);
  let hash = 0;
  for (const ch of subject) hash = (hash * 31 + ch.codePointAt(0)) % 9000;
  process.stdout.write(
    JSON.stringify({ id: `T-${1000 + hash}`, subject, priority: input.priority, status: "open" }) + "\n",
  );
});
