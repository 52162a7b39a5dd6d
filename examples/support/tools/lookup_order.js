// Tool `lookup_order`: reads { "order_id": "..." } on stdin, prints the Order as JSON.
// Fake, deterministic data so that the example runs offline.
"use strict";

const ORDERS = {
  A1001: {
    id: "A1001",
    total: 65,
    status: "delivered",
    placed_at: "2025-05-20",
    items: [
      { sku: "MUG-SET-4", name: "Ceramic mug set", quantity: 1, unit_price: 40 },
      { sku: "BEANS-1KG", name: "Coffee beans", quantity: 1, unit_price: 25 },
    ],
  },
  A1002: {
    id: "A1002",
    total: 900,
    status: "delivered",
    placed_at: "2025-05-10",
    items: [{ sku: "LAPTOP-14", name: "14-inch laptop", quantity: 1, unit_price: 900 }],
  },
  A1003: {
    id: "A1003",
    total: 129.99,
    status: "shipped",
    placed_at: "2025-05-02",
    items: [{ sku: "KETTLE-GOOSE", name: "Gooseneck kettle", quantity: 1, unit_price: 129.99 }],
  },
  A1004: {
    id: "A1004",
    total: 18.5,
    status: "open",
    placed_at: "2025-06-01",
    items: [{ sku: "FILTER-100", name: "Paper filters (100)", quantity: 2, unit_price: 9.25 }],
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
  const order =
    ORDERS[
      String(input.order_id ?? "")
        .trim()
        .toUpperCase()
    ];
  if (!order) fail("order not found");
  process.stdout.write(JSON.stringify(order) + "\n");
});
