// Tool `refund`: reads { "order_id": "...", "amount": 40, "reason"?: "..." } on stdin,
// prints a RefundResult as JSON. Fake, deterministic data; nothing is charged.
"use strict";

// What each order can still be refunded (its total, minus earlier refunds).
const REFUNDABLE = { A1001: 65, A1002: 900, A1003: 129.99, A1004: 18.5 };

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
  const orderId = String(input.order_id ?? "")
    .trim()
    .toUpperCase();
  const amount = input.amount;
  if (!(orderId in REFUNDABLE)) fail("order not found");
  if (typeof amount !== "number" || !Number.isFinite(amount) || amount <= 0)
    fail("amount must be a positive number");
  if (amount > REFUNDABLE[orderId])
    fail(`amount exceeds what order ${orderId} can still refund (${REFUNDABLE[orderId]})`);
  const cents = Math.round(amount * 100);
  process.stdout.write(
    JSON.stringify({
      refund_id: `RF-${orderId}-${cents}`,
      order_id: orderId,
      amount: cents / 100,
      status: "issued",
    }) + "\n",
  );
});
