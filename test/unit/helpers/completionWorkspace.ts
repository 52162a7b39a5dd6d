// The declarations completion tests run against, shared by the pure
// completion tests and the protocol tests so both check the same workspace.

export const TOOLS = `tool lookup {
  description: "Look up an order"
  input {
    order_id: string "The order id"
    verbose?: boolean
  }
}
tool refund {
  description: "Refund an order"
  input { order_id: string, amount: number }
}
memory customer {
  fields {
    preferred_name?: string "What the customer likes to be called"
    open_tickets: integer
  }
}
memory scratch { scope: session }
backend dev { kind: stateless provider: local }
type Order { id: string }
mcp orders { url: "http://127.0.0.1:3001/mcp" }
`;
