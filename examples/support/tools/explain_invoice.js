// Tool `explain_invoice`: reads { "invoice_id": "..." } on stdin, prints the Invoice
// as JSON. Fake, deterministic data so that the example runs offline.
"use strict";

const INVOICES = {
  "INV-2001": {
    id: "INV-2001",
    order_id: "A1003",
    amount_due: 0,
    status: "paid",
    explanation:
      "One charge of 129.99 USD for order A1003; the second line is a card pre-authorization that was released.",
  },
  "INV-2002": {
    id: "INV-2002",
    order_id: "A1004",
    amount_due: 18.5,
    status: "due",
    explanation: "Two packs of paper filters at 9.25 USD each, due on 2025-07-01.",
  },
  "INV-2003": {
    id: "INV-2003",
    order_id: "A1002",
    amount_due: 45,
    status: "overdue",
    explanation: "The laptop was paid for; 45 USD of express shipping is still unpaid since 2025-05-25.",
  },
};

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
  const invoice =
    INVOICES[
      String(input.invoice_id ?? "")
        .trim()
        .toUpperCase()
    ];
  if (!invoice) fail("invoice not found");
  process.stdout.write(JSON.stringify(invoice) + "\n");
});
