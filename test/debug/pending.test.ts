// The debugger's Pending tool call scope (server/debug/controller.ts pendingCallVariables, shown by the
// adapter): the tool and call id, and, for a call through a connection, the identity it acts as.

import { strict as assert } from "node:assert";
import { pendingCallVariables, type PendingCall } from "../../server/debug/controller";

const CALL: PendingCall = {
  callId: "c1",
  tool: "inbox",
  input: { folder: "in" },
  original: { folder: "in" },
  edited: false,
};

describe("debugger: the Pending tool call scope", () => {
  it("shows the identity of a call through a connection, never a credential", () => {
    assert.deepEqual(
      pendingCallVariables({ ...CALL, identity: { as: "user", connection: "mail", user: "ada" } }),
      [
        { name: "tool", value: "inbox" },
        { name: "callId", value: "c1" },
        { name: "identity", value: { as: "user", connection: "mail", user: "ada" } },
      ],
    );
    assert.deepEqual(pendingCallVariables({ ...CALL, identity: { as: "service", connection: "crm" } })[2], {
      name: "identity",
      value: { as: "service", connection: "crm" },
    });
  });

  it("has no identity for a call through no connection", () => {
    assert.deepEqual(
      pendingCallVariables(CALL).map((v) => v.name),
      ["tool", "callId"],
    );
  });
});
