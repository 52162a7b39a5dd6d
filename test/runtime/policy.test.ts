// Policy: `evaluate` over conditions compiled from real `deny ... when`
// source (every operator, and / or / not precedence, contains, matches,
// missing fields), `decide`'s order of checks, and the engine enforcing it
// in a session (scopes, deny rules, approvals, limits, unknown tools).
import { strict as assert } from "node:assert";
import type { ExprIR, Json } from "../../server/language/compile";
import { decide, evaluate } from "../../server/runtime/policy";
import type { ApprovalRequest } from "../../server/runtime/engine";
import {
  compileSource,
  lines,
  ofType,
  only,
  snapshot,
  startSession,
  turnEvents,
  typesOf,
  type CompileOptions,
} from "./helpers";

const INPUT_FIELDS = [
  "    amount: number",
  "    count: integer",
  "    name: string",
  '    status: enum("open", "closed")',
  "    flag: boolean",
  "    tags: string[]",
  "    ids: integer[]",
  "    note?: string",
  "    extra?: json",
];

/** Compiles `deny probe when CONDITION` and returns the condition's IR. */
function condition(text: string, options: CompileOptions = {}): ExprIR {
  const def = compileSource(
    lines(
      "tool probe {",
      '  description: "A tool to hang conditions on"',
      "  input {",
      ...INPUT_FIELDS,
      "  }",
      "}",
      "agent a {",
      '  instructions: "Hi."',
      "  tools: [probe]",
      "  policy {",
      `    deny probe when ${text}`,
      "  }",
      "}",
    ),
    options,
  );
  const [rule] = def.agents.a.policy.deny;
  assert.ok(rule, `the condition '${text}' compiled`);
  return rule.when;
}

/** Evaluates `text` against each input and returns the results. */
const results = (text: string, inputs: Json[]) => {
  const expr = condition(text);
  return inputs.map((i) => evaluate(expr, i));
};

describe("policy: evaluate", () => {
  it("compares numbers with < <= > >= == !=", () => {
    const amounts = [40, 500, 900].map((amount) => ({ amount }));
    assert.deepEqual(results("input.amount > 500", amounts), [false, false, true]);
    assert.deepEqual(results("input.amount >= 500", amounts), [false, true, true]);
    assert.deepEqual(results("input.amount < 500", amounts), [true, false, false]);
    assert.deepEqual(results("input.amount <= 500", amounts), [true, true, false]);
    assert.deepEqual(results("input.amount == 500", amounts), [false, true, false]);
    assert.deepEqual(results("input.amount != 500", amounts), [true, false, true]);
    assert.deepEqual(results("input.amount > 0.25", [{ amount: 0.5 }, { amount: 0.25 }]), [true, false]);
    assert.deepEqual(results("input.count >= 1_000", [{ count: 1000 }, { count: 999 }]), [true, false]);
    assert.deepEqual(results("input.amount > -3", [{ amount: -2 }, { amount: -4 }]), [true, false]);
  });

  it("compares strings, enums and booleans with == and !=", () => {
    assert.deepEqual(results('input.name == "Ada"', [{ name: "Ada" }, { name: "ada" }]), [true, false]);
    assert.deepEqual(results('input.name != "Ada"', [{ name: "Ada" }, { name: "Bob" }]), [false, true]);
    assert.deepEqual(results('input.status == "open"', [{ status: "open" }, { status: "closed" }]), [
      true,
      false,
    ]);
    assert.deepEqual(results("input.flag == true", [{ flag: true }, { flag: false }]), [true, false]);
    assert.deepEqual(results("input.flag != false", [{ flag: true }, { flag: false }]), [true, false]);
    assert.deepEqual(results('input.tags == ["a", "b"]', [{ tags: ["a", "b"] }, { tags: ["b", "a"] }]), [
      true,
      false,
    ]);
  });

  it("ordering comparisons are false unless both sides are numbers", () => {
    assert.deepEqual(results("input.amount > 5", [{ amount: "9" }, { amount: null }, { amount: [9] }]), [
      false,
      false,
      false,
    ]);
  });

  it("contains: substring on strings, element on lists", () => {
    assert.deepEqual(results('input.name contains "da"', [{ name: "Ada" }, { name: "Bob" }, { name: "" }]), [
      true,
      false,
      false,
    ]);
    assert.deepEqual(results('input.name contains ""', [{ name: "Bob" }]), [true]);
    assert.deepEqual(
      results('input.tags contains "vip"', [{ tags: ["x", "vip"] }, { tags: ["v", "vipp"] }, { tags: [] }]),
      [true, false, false],
    );
    assert.deepEqual(results("input.ids contains 3", [{ ids: [1, 3] }, { ids: [13] }]), [true, false]);
    assert.deepEqual(results('input.extra contains "k"', [{ extra: { k: 1 } }, { extra: 5 }]), [
      false,
      false,
    ]);
  });

  it("matches: a regular expression on strings", () => {
    const rule = 'input.name matches "^A.a$"';
    assert.deepEqual(results(rule, [{ name: "Ada" }, { name: "ada" }, { name: "Adam" }]), [
      true,
      false,
      false,
    ]);
    assert.deepEqual(results('input.name matches "a"', [{ name: "bar" }, { name: 5 }, { name: ["a"] }]), [
      true,
      false,
      false,
    ]);
    assert.deepEqual(results('input.name matches "\\\\d{3}"', [{ name: "ab123" }, { name: "ab12" }]), [
      true,
      false,
    ]);
    assert.deepEqual(results('input.status matches "^cl"', [{ status: "closed" }, { status: "open" }]), [
      true,
      false,
    ]);
  });

  it("and / or / not: not binds tighter than and, and tighter than or; comparisons tightest", () => {
    // a or (b and c), not (a or b) and c
    const orAnd = "input.amount > 1 or input.count > 1 and input.flag == true";
    assert.deepEqual(
      results(orAnd, [
        { amount: 2, count: 0, flag: false },
        { amount: 0, count: 2, flag: false },
        { amount: 0, count: 2, flag: true },
      ]),
      [true, false, true],
    );
    const andOr = "input.amount > 1 and input.count > 1 or input.flag == true";
    assert.deepEqual(
      results(andOr, [
        { amount: 0, count: 0, flag: true },
        { amount: 2, count: 0, flag: false },
        { amount: 2, count: 2, flag: false },
      ]),
      [true, false, true],
    );
    // Parentheses override.
    assert.deepEqual(
      results("(input.amount > 1 or input.count > 1) and input.flag == true", [
        { amount: 2, count: 0, flag: false },
      ]),
      [false],
    );
    // `not a == b` is `not (a == b)`.
    assert.deepEqual(results("not input.amount > 500", [{ amount: 900 }, { amount: 40 }]), [false, true]);
    // `not a and b` is `(not a) and b`: with flag false and amount 1, (true and false) = false, not (false and false) = true.
    assert.deepEqual(
      results("not input.flag == true and input.amount > 5", [
        { flag: false, amount: 1 },
        { flag: false, amount: 9 },
      ]),
      [false, true],
    );
    assert.deepEqual(results("not (input.flag == true and input.amount > 5)", [{ flag: false, amount: 1 }]), [
      true,
    ]);
    assert.deepEqual(results("not not input.flag", [{ flag: true }, { flag: false }]), [true, false]);
    // A bare path is tested for truthiness.
    assert.deepEqual(
      results("input.flag or input.amount", [
        { flag: false, amount: 0 },
        { flag: false, amount: 3 },
      ]),
      [false, true],
    );
  });

  it("missing fields: comparisons with them are false, != is true, == null is true", () => {
    const none = [{}];
    assert.deepEqual(results("input.amount > 5", none), [false]);
    assert.deepEqual(results("input.amount <= 5", none), [false]);
    assert.deepEqual(results("not (input.amount > 5)", none), [true]);
    assert.deepEqual(results('input.note == "x"', none), [false]);
    assert.deepEqual(results('input.note != "x"', none), [true]);
    assert.deepEqual(results('input.note contains "x"', none), [false]);
    assert.deepEqual(results('input.note matches "."', none), [false]);
    assert.deepEqual(results("input.tags contains 1", none), [false]);
    // An absent optional field reads as null: `deny refund when input.reason == null` must fire.
    assert.deepEqual(results("input.note == null", [{}, { note: null }, { note: "x" }]), [true, true, false]);
    assert.deepEqual(results("input.note != null", [{}, { note: "x" }]), [false, true]);
    // A path through something that is not an object is missing too.
    assert.equal(evaluate({ path: ["input", "note", "deeper"] }, { note: "x" }), undefined);
    assert.equal(evaluate({ path: ["input", "a"] }, null), undefined);
    assert.equal(evaluate({ path: ["input", "a"] }, [1, 2]), undefined);
  });
});

describe("policy: decide", () => {
  const def = compileSource(
    lines(
      "tool refund {",
      '  description: "Refund"',
      "  input { amount: number }",
      '  requires: ["refunds:write", "money:move"]',
      "}",
      "tool ticket {",
      '  description: "Ticket"',
      "}",
      "agent a {",
      '  instructions: "Hi."',
      "  tools: [refund, ticket]",
      '  identity { scopes: ["refunds:write"] }',
      "  policy {",
      "    require_approval: [refund, ticket]",
      "    deny refund when input.amount > 500",
      "    max_tool_calls: 3",
      "    max_tokens: 1000",
      "  }",
      "}",
    ),
    { allowErrors: ["missing-scope"] },
  );
  const agent = def.agents.a;
  const fresh = { toolCalls: 0, tokens: 0 };

  it("checks scopes first, then deny rules, then limits, then approval", () => {
    assert.deepEqual(decide(def, agent, "refund", { amount: 900 }, fresh), {
      decision: "deny",
      check: "scope",
      reason: "agent 'a' lacks the scope money:move that refund requires",
    });
    const scoped = { ...agent, identity: { ...agent.identity, scopes: ["refunds:write", "money:move"] } };
    assert.deepEqual(decide(def, scoped, "refund", { amount: 900 }, { toolCalls: 9, tokens: 9999 }), {
      decision: "deny",
      check: "deny",
      reason: "policy denies refund when input.amount > 500",
    });
    assert.deepEqual(decide(def, scoped, "refund", { amount: 40 }, { toolCalls: 3, tokens: 0 }), {
      decision: "deny",
      check: "limit",
      reason: "max_tool_calls (3) reached",
    });
    assert.deepEqual(decide(def, scoped, "refund", { amount: 40 }, { toolCalls: 0, tokens: 1000 }), {
      decision: "deny",
      check: "limit",
      reason: "max_tokens (1000) reached",
    });
    assert.deepEqual(decide(def, scoped, "refund", { amount: 40 }, fresh), {
      decision: "approval",
      check: "approval",
      reason: "refund requires approval",
    });
    assert.deepEqual(
      decide(def, { ...scoped, policy: { ...scoped.policy, requireApproval: [] } }, "refund", {}, fresh),
      {
        decision: "allow",
        check: "none",
      },
    );
  });

  it("names every lacking scope", () => {
    const bare = { ...agent, identity: { ...agent.identity, scopes: [] } };
    const verdict = decide(def, bare, "refund", { amount: 1 }, fresh);
    assert.equal(
      verdict.decision === "deny" && verdict.reason,
      "agent 'a' lacks the scopes refunds:write, money:move that refund requires",
    );
  });
});

// ---- the engine enforcing the policy ----------------------------------------------------------------

describe("policy in a session", () => {
  const source = (policy: string[], scopes = '"orders:read", "refunds:write"') =>
    lines(
      "tool lookup_order {",
      '  description: "Look up an order"',
      "  input { order_id: string }",
      '  requires: ["orders:read"]',
      "}",
      "tool refund {",
      '  description: "Refund an order"',
      "  input {",
      "    order_id: string",
      "    amount: number",
      "  }",
      '  requires: ["refunds:write"]',
      "}",
      "agent support {",
      '  instructions: "Help."',
      "  tools: [lookup_order, refund]",
      `  identity { scopes: [${scopes}] }`,
      "  policy {",
      ...policy.map((p) => `    ${p}`),
      "  }",
      "}",
    );

  /** Mocks that record what ran. */
  const recorder = () => {
    const ran: string[] = [];
    return {
      ran,
      mocks: (tool: string) => {
        ran.push(tool);
        return { ok: true as const, output: { ok: tool } };
      },
    };
  };

  /** The event types of a turn in which the model calls one tool that does not run, then replies. */
  const DENIED_TURN = [
    "turn.start",
    "context.snapshot",
    "model.request",
    "model.response",
    "tool.call",
    "policy.decision",
    "context.snapshot",
    "model.request",
    "model.response",
    "memory.snapshot",
    "turn.end",
  ];

  it("a missing scope denies the call (check scope); the tool does not run and the model is told", async () => {
    const def = compileSource(source([], '"refunds:write"'), { allowErrors: ["missing-scope"] });
    const { ran, mocks } = recorder();
    const { session, events } = await startSession(def, {
      mocks,
      script: [
        { kind: "call", tool: "lookup_order", input: { order_id: "A1" } },
        { kind: "reply", text: "I cannot look that up." },
      ],
    });
    const result = await session.send("Where is A1?");
    assert.deepEqual(ran, []);
    assert.equal(result.status, "ok");
    const reason = "agent 'support' lacks the scope orders:read that lookup_order requires";
    assert.deepEqual(result.tools, [
      { callId: "call_1", tool: "lookup_order", input: { order_id: "A1" }, status: "denied", error: reason },
    ]);
    assert.deepEqual(typesOf(turnEvents(events, 1)), DENIED_TURN);
    const d = only(events, "policy.decision");
    assert.deepEqual(
      [d.callId, d.tool, d.decision, d.check, d.reason],
      ["call_1", "lookup_order", "deny", "scope", reason],
    );
    assert.deepEqual(snapshot(events, 1, 1).messages.at(-1), {
      role: "tool",
      toolCallId: "call_1",
      name: "lookup_order",
      content: `Denied: ${reason}. The tool did not run.`,
      isError: true,
    });
  });

  it("`deny refund when input.amount > 500` denies 900 and allows 40", async () => {
    const def = compileSource(source(["deny refund when input.amount > 500"]));
    const { ran, mocks } = recorder();
    const { session, events } = await startSession(def, {
      mocks,
      script: [
        { kind: "call", tool: "refund", input: { order_id: "A1", amount: 900 } },
        { kind: "reply", text: "Too much." },
        { kind: "call", tool: "refund", input: { order_id: "A1", amount: 40 } },
        { kind: "reply", text: "Refunded 40." },
      ],
    });
    const big = await session.send("Refund 900");
    assert.deepEqual(ran, []);
    assert.equal(big.tools[0].status, "denied");
    assert.deepEqual(typesOf(turnEvents(events, 1)), DENIED_TURN);
    const denied = only(turnEvents(events, 1), "policy.decision");
    assert.deepEqual(
      [denied.decision, denied.check, denied.reason],
      ["deny", "deny", "policy denies refund when input.amount > 500"],
    );

    const small = await session.send("Refund 40");
    assert.deepEqual(ran, ["refund"]);
    assert.equal(small.tools[0].status, "ran");
    const allowed = only(turnEvents(events, 2), "policy.decision");
    assert.deepEqual([allowed.decision, allowed.check], ["allow", "none"]);
    assert.equal(only(turnEvents(events, 2), "tool.result").ok, true);
  });

  describe("require_approval", () => {
    const script = [
      { kind: "call" as const, tool: "refund", input: { order_id: "A1", amount: 40 } },
      { kind: "reply" as const, text: "done" },
    ];
    const def = () =>
      compileSource(source(["require_approval: [refund]", "deny refund when input.amount > 500"]));

    it("an approver that says yes: approval approved:true, then the tool runs", async () => {
      const asked: ApprovalRequest[] = [];
      const { ran, mocks } = recorder();
      const { session, events } = await startSession(def(), {
        mocks,
        approver: (request) => {
          asked.push(request);
          return Promise.resolve(true);
        },
        script,
      });
      const result = await session.send("Refund 40");
      assert.deepEqual(asked, [
        {
          callId: "call_1",
          tool: "refund",
          input: { order_id: "A1", amount: 40 },
          reason: "refund requires approval",
        },
      ]);
      assert.deepEqual(ran, ["refund"]);
      assert.equal(result.tools[0].status, "ran");
      assert.deepEqual(typesOf(turnEvents(events, 1)).slice(4, 8), [
        "tool.call",
        "policy.decision",
        "approval",
        "tool.result",
      ]);
      const d = only(events, "policy.decision");
      assert.deepEqual([d.decision, d.check, d.reason], ["approval", "approval", "refund requires approval"]);
      const a = only(events, "approval");
      assert.deepEqual([a.callId, a.tool, a.approved, a.by], ["call_1", "refund", true, "u1"]);
    });

    it("an approver that says no: approval approved:false, the tool does not run", async () => {
      const { ran, mocks } = recorder();
      const { session, events } = await startSession(def(), {
        mocks,
        approver: () => Promise.resolve(false),
        script,
      });
      const result = await session.send("Refund 40");
      assert.deepEqual(ran, []);
      assert.deepEqual([result.tools[0].status, result.tools[0].error], ["denied", "approval was refused"]);
      assert.equal(ofType(events, "tool.result").length, 0);
      assert.deepEqual(typesOf(turnEvents(events, 1)).slice(4, 7), [
        "tool.call",
        "policy.decision",
        "approval",
      ]);
      assert.equal(only(events, "approval").approved, false);
      assert.deepEqual(snapshot(events, 1, 1).messages.at(-1), {
        role: "tool",
        toolCallId: "call_1",
        name: "refund",
        content: "Denied: the approval request was refused. The tool did not run.",
        isError: true,
      });
    });

    it("an input the tool cannot take fails before anyone is asked to approve it", async () => {
      const asked: ApprovalRequest[] = [];
      const { ran, mocks } = recorder();
      const { session, events } = await startSession(def(), {
        mocks,
        approver: (request) => {
          asked.push(request);
          return Promise.resolve(true);
        },
        script: [
          { kind: "call", tool: "refund", input: { order_id: "A1", amount: "forty" } },
          { kind: "reply", text: "sorry" },
        ],
      });
      const result = await session.send("Refund forty");
      assert.deepEqual(asked, []);
      assert.deepEqual(ran, []);
      assert.equal(ofType(events, "approval").length, 0);
      assert.equal(result.tools[0].status, "failed");
      assert.match(result.tools[0].error!, /^invalid input: input\.amount/);
      const r = only(events, "tool.result");
      assert.deepEqual([r.ok, r.origin], [false, "run"]);
      assert.deepEqual(typesOf(turnEvents(events, 1)).slice(4, 7), [
        "tool.call",
        "policy.decision",
        "tool.result",
      ]);
    });

    it("no approver: refused", async () => {
      const { ran, mocks } = recorder();
      const { session, events } = await startSession(def(), { mocks, script });
      const result = await session.send("Refund 40");
      assert.deepEqual(ran, []);
      assert.equal(result.tools[0].status, "denied");
      const a = only(events, "approval");
      assert.deepEqual([a.approved, a.by], [false, "nobody (no approver)"]);
    });

    it("a deny rule stops the call before anyone is asked", async () => {
      let asked = 0;
      const { session, events } = await startSession(def(), {
        approver: () => Promise.resolve(++asked > 0),
        script: [
          { kind: "call", tool: "refund", input: { order_id: "A1", amount: 900 } },
          { kind: "reply", text: "No." },
        ],
      });
      await session.send("Refund 900");
      assert.equal(asked, 0);
      assert.equal(ofType(events, "approval").length, 0);
      assert.equal(only(events, "policy.decision").check, "deny");
    });
  });

  it("max_tool_calls: the call past the limit is denied (check limit)", async () => {
    const def = compileSource(source(["max_tool_calls: 2"]));
    const { ran, mocks } = recorder();
    const call = { kind: "call" as const, tool: "lookup_order", input: { order_id: "A1" } };
    const { session, events } = await startSession(def, {
      mocks,
      script: [call, call, { kind: "reply", text: "one" }, call, { kind: "reply", text: "two" }],
    });
    const first = await session.send("twice");
    assert.deepEqual(
      first.tools.map((t) => t.status),
      ["ran", "ran"],
    );
    const second = await session.send("again");
    assert.deepEqual(ran, ["lookup_order", "lookup_order"]);
    assert.equal(second.status, "ok");
    assert.deepEqual(
      [second.tools[0].status, second.tools[0].error],
      ["denied", "max_tool_calls (2) reached"],
    );
    const d = only(turnEvents(events, 2), "policy.decision");
    assert.deepEqual([d.decision, d.check], ["deny", "limit"]);
  });

  it("max_turns: the turn past the limit is stopped with a reason and no model call", async () => {
    const def = compileSource(source(["max_turns: 1"]));
    const { session, events, backend } = await startSession(def, {
      script: [
        { kind: "reply", text: "one" },
        { kind: "reply", text: "never" },
      ],
    });
    assert.equal((await session.send("first")).status, "ok");
    const recorded = events.length;
    const result = await session.send("second");
    assert.deepEqual(result, {
      turn: 1,
      reply: "",
      status: "stopped",
      reason: "max_turns (1) reached: the policy allows 1 turn per session",
      agent: "support",
      tools: [],
      handoffs: [],
      usage: { inputTokens: 0, outputTokens: 0 },
    });
    assert.equal(backend.pending, 1, "the model was not called");
    assert.equal(events.length, recorded, "nothing ran, so nothing was recorded");
    assert.equal(session.turn, 1);
  });

  it("max_tokens: a tool call past the budget is denied and the turn stops", async () => {
    const def = compileSource(source(["max_tokens: 100"]));
    const { ran, mocks } = recorder();
    const { session, events, backend } = await startSession(def, {
      mocks,
      script: [
        { kind: "call", tool: "lookup_order", input: { order_id: "A1" } },
        { kind: "reply", text: "never" },
      ],
    });
    const result = await session.send("Where is A1?");
    assert.equal(result.status, "stopped");
    assert.match(result.reason!, /^max_tokens \(100\) reached: \d+ tokens used in this session$/);
    assert.deepEqual(ran, []);
    assert.equal(backend.pending, 1, "no model call after the budget ran out");
    const d = only(events, "policy.decision");
    assert.deepEqual([d.decision, d.check, d.reason], ["deny", "limit", "max_tokens (100) reached"]);
    const end = only(events, "turn.end");
    assert.deepEqual([end.status, end.reason], ["stopped", result.reason]);
  });

  it("max_tokens: once a reply has used up the budget, the next turn stops before calling the model", async () => {
    const def = compileSource(source(["max_tokens: 100"]));
    const { session, events, backend } = await startSession(def, {
      script: [
        { kind: "reply", text: "A reply that, with the tool schemas, costs more than a hundred tokens." },
        { kind: "reply", text: "never" },
      ],
    });
    const first = await session.send("hello");
    assert.equal(first.status, "ok", "a turn that ends with a reply keeps its reply");
    assert.ok(session.usage.inputTokens + session.usage.outputTokens >= 100);
    const second = await session.send("more");
    assert.equal(second.status, "stopped");
    assert.match(second.reason!, /^max_tokens \(100\) reached: \d+ tokens used in this session$/);
    assert.equal(backend.pending, 1, "the model was not called");
    assert.deepEqual(typesOf(turnEvents(events, 2)), ["turn.start", "memory.snapshot", "turn.end"]);
    assert.equal(only(turnEvents(events, 2), "turn.end").status, "stopped");
  });

  it("an unknown tool name from the model is denied (unknown-tool)", async () => {
    const def = compileSource(source([]));
    const { session, events } = await startSession(def, {
      script: [
        { kind: "call", tool: "delete_everything", input: {} },
        { kind: "reply", text: "Sorry." },
      ],
    });
    const result = await session.send("go");
    assert.equal(result.status, "ok");
    const reason = "there is no tool 'delete_everything' for agent 'support'";
    assert.deepEqual([result.tools[0].status, result.tools[0].error], ["denied", reason]);
    assert.deepEqual(typesOf(turnEvents(events, 1)), DENIED_TURN);
    const d = only(events, "policy.decision");
    assert.deepEqual(
      [d.tool, d.decision, d.check, d.reason],
      ["delete_everything", "deny", "unknown-tool", reason],
    );
    assert.equal(
      (snapshot(events, 1, 1).messages.at(-1) as { content: string }).content,
      `Error: ${reason}.`,
    );
  });
});
