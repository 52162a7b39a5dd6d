// The eval compiler (evals.md sections 1-2): an eval's settings and their defaults, inline cases with
// every step and criterion kind, dataset lines as cases (inputs, script turns, expectations, judges),
// findEvals over imports, and the dataset reader's problems naming the field of a bad line.

import { strict as assert } from "node:assert";
import { compileEval, findEvals } from "../../server/language/compileEvals";
import { parseDataset } from "../../server/language/dataset";
import type { EvalIR } from "../../server/language/evalIR";
import { loadSources, wsPath } from "./helpers/memfs";

const BASE = `backend cloud { kind: stateless provider: openai model: "gpt-4o" api_key: env("OPENAI_API_KEY") }
backend judge_model { kind: stateless provider: openai model: "gpt-4o-mini" api_key: env("OPENAI_API_KEY") }
tool lookup_order { description: "Look up" input { order_id: string } }
tool refund { description: "Refund" input { order_id: string, amount: number } }
agent support {
  backend: cloud
  instructions: "Help."
  tools: [lookup_order, refund]
}
`;

function compile(files: Record<string, string>, name?: string): EvalIR[] {
  const program = loadSources(files);
  const found = findEvals(program, [wsPath("main.agent")]);
  return found
    .filter((e) => name === undefined || (e.decl.name?.type === "Identifier" && e.decl.name.name === name))
    .map((e) => compileEval(program, e.file, e.decl));
}

describe("compileEval", () => {
  it("an inline case with every step and criterion kind", () => {
    const src = `${BASE}
eval support_quality {
  agent: support
  backends: [cloud, local]
  judge: judge_model
  trials: 3
  pass_rate: 0.8
  concurrency: 2
  judge "Polite." at_least 0.6
  judge helpfulness

  case "small refund" {
    user { id: "ada" name: "Ada" }
    model calls refund { order_id: "A1001", amount: 20 }
    tool refund returns { ok: true }
    model replies "Refunded 20 USD."
    judge scores 0.9 "Confirms it."
    send "Please refund 20 USD on A1001."
    expect tool refund called with { order_id: "A1001", amount: 20 }
    expect trajectory [lookup_order, refund]
    expect trajectory [refund] exact
    expect reply contains "refund"
    judge "Confirms the amount and the order." at_least 0.7
    judge faithfulness at_least 0.8
    score command("node", ["scorers/tone.js"]) at_least 0.4
    expected "A refund of 20 USD."
    goal "Gets the money back."
  }
}
`;
    const [ev] = compile({ "main.agent": src });
    const file = wsPath("main.agent");
    const lineOf = (needle: string) => src.slice(0, src.indexOf(needle)).split("\n").length;
    assert.equal(ev.name, "support_quality");
    assert.equal(ev.file, file);
    assert.equal(ev.line, lineOf("eval support_quality"));
    assert.equal(ev.agent, "support");
    assert.deepEqual(ev.backends, ["cloud", "local"]);
    assert.equal(ev.judge, "judge_model");
    assert.deepEqual([ev.trials, ev.passRate, ev.concurrency], [3, 0.8, 2]);
    assert.equal(ev.dataset, undefined);
    assert.deepEqual(ev.judges, [
      { file, line: lineOf('judge "Polite."'), kind: "judge", criterion: "Polite.", atLeast: 0.6 },
      {
        file,
        line: lineOf("judge helpfulness"),
        kind: "judge",
        criterion: "helpfulness",
        builtin: "helpfulness",
        atLeast: 0.5,
      },
    ]);
    assert.equal(ev.cases.length, 1);
    const c = ev.cases[0];
    assert.equal(c.name, "small refund");
    assert.equal(c.origin, "inline");
    assert.equal(c.line, lineOf('case "small refund"'));
    assert.deepEqual(c.user, { id: "ada", name: "Ada" });
    assert.equal(c.expected, "A refund of 20 USD.");
    assert.equal(c.goal, "Gets the money back.");
    assert.deepEqual(
      c.steps.map(({ line, source, ...s }) => {
        assert.equal(line, lineOf(source), `the line of ${source}`);
        return s;
      }),
      [
        { kind: "model.calls", tool: "refund", input: { order_id: "A1001", amount: 20 } },
        { kind: "tool.returns", tool: "refund", value: { ok: true } },
        { kind: "model.replies", text: "Refunded 20 USD." },
        { kind: "judge.scores", score: 0.9, reason: "Confirms it." },
        { kind: "send", text: "Please refund 20 USD on A1001." },
        { kind: "expect.tool", tool: "refund", outcome: "called", with: { order_id: "A1001", amount: 20 } },
        { kind: "expect.reply", op: "contains", text: "refund" },
      ],
    );
    assert.deepEqual(c.criteria, [
      {
        file,
        line: lineOf("expect trajectory [lookup_order"),
        kind: "trajectory",
        tools: ["lookup_order", "refund"],
        mode: "in_order",
      },
      {
        file,
        line: lineOf("expect trajectory [refund]"),
        kind: "trajectory",
        tools: ["refund"],
        mode: "exact",
      },
      {
        file,
        line: lineOf('judge "Confirms'),
        kind: "judge",
        criterion: "Confirms the amount and the order.",
        atLeast: 0.7,
      },
      {
        file,
        line: lineOf("judge faithfulness"),
        kind: "judge",
        criterion: "faithfulness",
        builtin: "faithfulness",
        atLeast: 0.8,
      },
      {
        file,
        line: lineOf("score command"),
        kind: "score",
        executable: "node",
        args: ["scorers/tone.js"],
        cwd: wsPath("."),
        atLeast: 0.4,
      },
    ]);
  });

  it("defaults: the agent's backend, 1 trial, pass rate 1, concurrency 4, threshold 0.5, no judge", () => {
    const [ev] = compile({
      "main.agent": `${BASE}
eval e {
  agent: support
  case "c" {
    send "hi"
    judge "Kind."
    score command("./s.sh")
  }
}
`,
    });
    assert.deepEqual(ev.backends, ["cloud"]);
    assert.equal(ev.judge, undefined);
    assert.deepEqual([ev.trials, ev.passRate, ev.concurrency], [1, 1, 4]);
    assert.deepEqual(
      ev.cases[0].criteria.map((c) => c.kind !== "trajectory" && c.atLeast),
      [0.5, 0.5],
    );
    assert.deepEqual(ev.cases[0].criteria[1], {
      file: wsPath("main.agent"),
      line: 16,
      kind: "score",
      executable: "./s.sh",
      args: [],
      cwd: wsPath("."),
      atLeast: 0.5,
    });
  });

  it("the default backend is the only visible one when the agent names none, else the built-in local", () => {
    const one = compile({
      "main.agent": `backend only { kind: stateless provider: local }
agent a { instructions: "x" }
eval e { agent: a }
`,
    });
    assert.deepEqual(one[0].backends, ["only"]);
    const none = compile({ "main.agent": `agent a { instructions: "x" }\neval e { agent: a }\n` });
    assert.deepEqual(none[0].backends, ["local"]);
  });

  it("a simulated case: the simulation, its scripted user messages, and its goal as the case's", () => {
    const [ev] = compile({
      "main.agent": `${BASE}
eval e {
  agent: support
  judge: local
  case "angry customer" {
    user: { id: "u9" }
    simulate {
      backend: local
      persona: "A customer whose kettle arrived broken."
      goal: "Gets a refund confirmation."
      max_turns: 6
    }
    user says "My kettle is broken!"
    user says "Order A1001."
    expect tool refund called
  }
  case "default turns" {
    simulate { backend: judge_model, persona: "p", goal: "g" }
  }
}
`,
    });
    const [c, d] = ev.cases;
    assert.deepEqual(c.user, { id: "u9" });
    assert.deepEqual(c.simulate, {
      file: wsPath("main.agent"),
      line: 16,
      backend: "local",
      persona: "A customer whose kettle arrived broken.",
      goal: "Gets a refund confirmation.",
      maxTurns: 6,
    });
    assert.equal(c.goal, "Gets a refund confirmation.");
    assert.deepEqual(
      c.steps.map((s) => s.kind),
      ["user.says", "user.says", "expect.tool"],
    );
    assert.equal(d.simulate?.maxTurns, 10);
    assert.equal(ev.judge, "local");
  });

  it("dataset lines become cases at their dataset line, after the inline cases", () => {
    const lines = [
      JSON.stringify({
        name: "late order",
        input: ["Where is A1003?", "And when will it arrive?"],
        user: { id: "u7" },
        expect: {
          tools: ["lookup_order"],
          trajectory: "exact",
          reply_contains: ["A1003"],
          reply_matches: "arriv(e|al)",
        },
        judge: [{ criterion: "Gives a date.", at_least: 0.6 }, { criterion: "Short." }],
        script: [
          { call: "lookup_order", input: { order_id: "A1003" } },
          { reply: "It is on its way." },
          { reply: "It ships Tuesday." },
        ],
      }),
      "",
      JSON.stringify({
        input: "Hello",
        expected: "A greeting.",
        goal: "Be greeted.",
        expect: { tools: ["refund"] },
      }),
    ];
    const [ev] = compile({
      "main.agent": `${BASE}
eval e {
  agent: support
  dataset: file("cases/support.jsonl")
  case "inline" { send "x" }
}
`,
      "cases/support.jsonl": lines.join("\n") + "\n",
    });
    const dataset = wsPath("cases/support.jsonl");
    assert.equal(ev.dataset, dataset);
    assert.deepEqual(
      ev.cases.map((c) => [c.name, c.origin, c.file, c.line]),
      [
        ["inline", "inline", wsPath("main.agent"), 14],
        ["late order", "dataset", dataset, 1],
        ["support.jsonl:3", "dataset", dataset, 3],
      ],
    );
    const late = ev.cases[1];
    assert.deepEqual(late.user, { id: "u7" });
    assert.deepEqual(
      late.steps.map(({ file, line, source, ...s }) => {
        assert.deepEqual([file, line], [dataset, 1]);
        assert.equal(typeof source, "string");
        return s;
      }),
      [
        { kind: "model.calls", tool: "lookup_order", input: { order_id: "A1003" } },
        { kind: "model.replies", text: "It is on its way." },
        { kind: "send", text: "Where is A1003?" },
        { kind: "model.replies", text: "It ships Tuesday." },
        { kind: "send", text: "And when will it arrive?" },
        { kind: "expect.reply", op: "contains", text: "A1003" },
        { kind: "expect.reply", op: "matches", text: "arriv(e|al)" },
      ],
    );
    assert.equal(late.steps[2].source, 'send "Where is A1003?"');
    assert.deepEqual(late.criteria, [
      { file: dataset, line: 1, kind: "trajectory", tools: ["lookup_order"], mode: "exact" },
      { file: dataset, line: 1, kind: "judge", criterion: "Gives a date.", atLeast: 0.6 },
      { file: dataset, line: 1, kind: "judge", criterion: "Short.", atLeast: 0.5 },
    ]);
    const hello = ev.cases[2];
    assert.deepEqual(
      hello.steps.map((s) => s.kind),
      ["send"],
    );
    assert.deepEqual([hello.expected, hello.goal], ["A greeting.", "Be greeted."]);
    assert.deepEqual(hello.criteria, [
      { file: dataset, line: 3, kind: "trajectory", tools: ["refund"], mode: "in_order" },
    ]);
  });

  it("a script with more turns than inputs keeps its extra steps in the last turn", () => {
    const [ev] = compile({
      "main.agent": `${BASE}\neval e {\n  agent: support\n  dataset: file("d.jsonl")\n}\n`,
      "d.jsonl": JSON.stringify({ input: "a", script: [{ reply: "one" }, { reply: "two" }] }),
    });
    assert.deepEqual(
      ev.cases[0].steps.map((s) => s.kind),
      ["model.replies", "model.replies", "send"],
    );
  });

  it("findEvals: the evals of the files and, with imports, of the files they import", () => {
    const files = {
      "main.agent": `import "more.agent"\n${BASE}\neval a { agent: support }\n`,
      "more.agent": `eval b { agent: support }\n`,
    };
    const program = loadSources(files);
    const names = (imports: boolean) =>
      findEvals(program, [wsPath("main.agent")], imports).map(
        (e) => `${e.file}:${e.decl.name?.type === "Identifier" ? e.decl.name.name : ""}`,
      );
    assert.deepEqual(names(true), [`${wsPath("main.agent")}:a`, `${wsPath("more.agent")}:b`]);
    assert.deepEqual(names(false), [`${wsPath("main.agent")}:a`]);
  });
});

describe("parseDataset", () => {
  const problem = (line: string) => {
    const { entries, problems } = parseDataset(`{"input": "ok"}\n${line}\n`);
    assert.equal(entries.length, 1, "the good line is read");
    assert.equal(problems.length, 1, "one problem");
    assert.equal(problems[0].line, 2);
    const start = '{"input": "ok"}\n'.length;
    return {
      ...problems[0],
      text: `${line}\n`.slice(problems[0].span.start - start, problems[0].span.end - start),
    };
  };

  const bad: [string, RegExp, string][] = [
    ["{not json", /^not a JSON object: /, "{not json"],
    ["[1, 2]", /^a case is a JSON object; found a list\.$/, "[1, 2]"],
    ['{"name": "x"}', /^missing field 'input'/, '{"name": "x"}'],
    [
      '{"input": 3}',
      /^'input' must be a string or a non-empty list of strings \(one turn each\); found the number 3\.$/,
      '"input"',
    ],
    ['{"input": []}', /^'input' must be a string or a non-empty list/, '"input"'],
    ['{"input": "a", "inputs": "b"}', /^unknown field 'inputs': a case has name, input, user/, '"inputs"'],
    ['{"input": "a", "user": {"name": "x"}}', /^'user' must be an object with an "id" string/, '"user"'],
    ['{"input": "a", "user": {"id": "u", "role": "x"}}', /^unknown field 'user\.role'/, '"role"'],
    ['{"input": "a", "expected": 1}', /^'expected' must be a string; found the number 1\.$/, '"expected"'],
    [
      '{"input": "a", "expect": {"tool": ["x"]}}',
      /^unknown field 'expect\.tool': expect has tools, trajectory/,
      '"tool"',
    ],
    [
      '{"input": "a", "expect": {"tools": ["x"], "trajectory": "sorted"}}',
      /^'expect\.trajectory' must be one of in_order, exact, any_order; found a string\.$/,
      '"trajectory"',
    ],
    [
      '{"input": "a", "expect": {"trajectory": "exact"}}',
      /^'expect\.tools' must be a list of tool names when "trajectory" is given/,
      '"expect"',
    ],
    [
      '{"input": "a", "expect": {"reply_matches": "("}}',
      /^'expect\.reply_matches': Invalid regular expression/,
      '"reply_matches"',
    ],
    ['{"input": "a", "judge": {"criterion": "x"}}', /^'judge' must be a list of/, '"judge"'],
    [
      '{"input": "a", "judge": [{"criterion": "x", "at_least": 2}]}',
      /^'judge\[0\]\.at_least' must be a number from 0 to 1; found the number 2\.$/,
      '"at_least"',
    ],
    ['{"input": "a", "judge": [{"text": "x"}]}', /^'judge\[0\]' must be \{"criterion"/, '"judge"'],
    [
      '{"input": "a", "script": [{"reply": "x"}, {"say": "y"}]}',
      /^'script\[1\]' must be \{"reply": "\.\.\."\}, \{"call": "tool", "input": \{\.\.\.\}\} or \{"handoff": "agent"\}; found \{"say":"y"\}\.$/,
      '"script"',
    ],
    ['{"input": "a", "script": [{"call": "t", "input": 5}]}', /^'script\[0\]' must be/, '"script"'],
  ];
  for (const [line, message, text] of bad)
    it(`${line}: one problem at line 2, on ${text}`, () => {
      const p = problem(line);
      assert.match(p.message, message);
      assert.equal(p.text, text);
    });

  it("blank lines and CRLF line ends are no cases and no problems", () => {
    const { entries, problems } = parseDataset('{"input": "a"}\r\n\r\n   \n{"input": "b"}');
    assert.deepEqual(problems, []);
    assert.deepEqual(
      entries.map((e) => [e.line, e.value.input]),
      [
        [1, "a"],
        [4, "b"],
      ],
    );
    assert.equal(entries[0].span.end, '{"input": "a"}'.length, "the span leaves out the \\r");
  });
});
