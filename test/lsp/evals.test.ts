// The editor features of evals (evals.md section 4) over the protocol: completion of an eval's
// properties, case steps, built-in judges, trajectory tools and modes; hover on eval words; go to
// definition from an eval's names and its dataset; semantic tokens of eval steps; formatting; outline.

import { strict as assert } from "node:assert";
import type {
  CompletionItem,
  CompletionList,
  DocumentSymbol,
  Hover,
  Location,
  LocationLink,
  SemanticTokens,
  TextEdit,
} from "vscode-languageserver-protocol/node";
import { applyTextEdits, markers, TestClient, type ClientOptions } from "./harness";

const HEAD = `backend cloud { kind: stateless provider: openai model: "gpt-4o" api_key: env("OPENAI_API_KEY") }
tool lookup_order { description: "Look up" input { order_id: string } }
agent support {
  backend: cloud
  instructions: "Help."
  tools: [lookup_order]
}
`;

const SNIPPETS: ClientOptions["capabilities"] = {
  textDocument: {
    completion: { completionItem: { snippetSupport: true } },
    documentSymbol: { hierarchicalDocumentSymbolSupport: true },
    publishDiagnostics: {},
  },
};

describe("lsp: evals", () => {
  let client: TestClient;
  afterEach(async () => client?.stop());

  async function open(source: string, files: Record<string, string> = {}) {
    client = await TestClient.start({ files, capabilities: SNIPPETS });
    const { text, positions } = markers(source);
    await client.open("e.agent", text);
    return { text, positions, uri: client.uri("e.agent") };
  }

  const labels = async (uri: string, position: { line: number; character: number }) => {
    const r = await client.request<CompletionItem[] | CompletionList | null>("textDocument/completion", {
      textDocument: { uri },
      position,
    });
    return (Array.isArray(r) ? r : (r?.items ?? [])).map((i) => i.label);
  };

  it("completes an eval's properties and criteria, case steps, built-in judges, trajectory tools and modes", async () => {
    const { positions, uri } = await open(`${HEAD}eval quality {
  agent: support
  <|>
  case "c" {
    <|>
    judge <|>
    expect trajectory [<|>]
    expect trajectory [lookup_order] <|>
    simulate {
      <|>
    }
  }
}
`);
    const [evalBody, caseBody, afterJudge, inList, afterList, inSimulate] = positions;
    const top = await labels(uri, evalBody);
    for (const l of ["backends", "judge", "trials", "pass_rate", "concurrency", "dataset", "case"])
      assert.ok(top.includes(l), `${l} in ${top.join(", ")}`);
    assert.ok(!top.includes("agent"), "a property already written is not offered again");
    const steps = await labels(uri, caseBody);
    for (const l of ["send", "expect", "model", "judge", "score", "user", "expected", "goal", "simulate"])
      assert.ok(steps.includes(l), `${l} in ${steps.join(", ")}`);
    assert.deepEqual((await labels(uri, afterJudge)).sort(), [
      "correctness",
      "faithfulness",
      "goal_success",
      "helpfulness",
      "instruction_following",
      "refusal",
      "scores",
      "tool_parameters",
      "tool_selection",
    ]);
    assert.deepEqual(await labels(uri, inList), ["lookup_order"]);
    assert.deepEqual(await labels(uri, afterList), ["in_order", "exact", "any_order"]);
    assert.deepEqual((await labels(uri, inSimulate)).sort(), ["backend", "goal", "max_turns", "persona"]);
  });

  it("hovers on the eval keyword, a case, a criterion, a built-in judge, at_least and a trajectory mode", async () => {
    const { positions, uri } = await open(`${HEAD}e<|>val quality {
  agent: support
  judge: cloud
  judge help<|>fulness at_<|>least 0.7
  c<|>ase "c" {
    send "hi"
    expect traj<|>ectory [lookup_order] ex<|>act
    tr<|>ials: 2
  }
}
`);
    const hover = async (i: number) => {
      const h = await client.request<Hover | null>("textDocument/hover", {
        textDocument: { uri },
        position: positions[i],
      });
      return h && typeof h.contents === "object" && "value" in h.contents ? h.contents.value : "";
    };
    assert.match(await hover(0), /An eval: cases run against real models/);
    assert.match(await hover(1), /Built-in judge: Whether the replies help the user/);
    assert.match(await hover(2), /The criterion holds when its score is at least N/);
    assert.match(await hover(3), /A case of the eval: a test body/);
    assert.match(await hover(4), /Checks the tool calls of the whole case/);
    assert.match(await hover(5), /`exact`: the case's tool calls are exactly this list/);
    assert.equal(await hover(6), "", "trials is the eval's, not a case's: no hover in a case");
  });

  it("goes from an eval's agent, judge backend and trajectory tool to their declarations, and from file(...) to the dataset", async () => {
    const { positions, uri } = await open(
      `${HEAD}eval quality {
  agent: sup<|>port
  judge: cl<|>oud
  dataset: file("ca<|>ses.jsonl")
  case "c" {
    send "hi"
    expect trajectory [look<|>up_order]
  }
}
`,
      { "cases.jsonl": '{"input": "hi"}\n' },
    );
    const target = async (i: number) => {
      const r = await client.request<Location | Location[] | LocationLink[] | null>(
        "textDocument/definition",
        {
          textDocument: { uri },
          position: positions[i],
        },
      );
      const first = Array.isArray(r) ? r[0] : r;
      if (!first) return undefined;
      return "targetUri" in first
        ? { uri: first.targetUri, line: first.targetSelectionRange.start.line }
        : { uri: first.uri, line: first.range.start.line };
    };
    assert.deepEqual(await target(0), { uri, line: 2 });
    assert.deepEqual(await target(1), { uri, line: 0 });
    assert.equal((await target(2))?.uri, client.uri("cases.jsonl"));
    assert.deepEqual(await target(3), { uri, line: 1 });
  });

  it("colours eval steps: built-in judges, trajectory tools and modes, at_least, case keywords", async () => {
    client = await TestClient.start();
    const text = `${HEAD}eval quality {\n  agent: support\n  judge: local\n  judge helpfulness at_least 0.7\n  case "c" {\n    send "hi"\n    expect trajectory [lookup_order] exact\n    judge scores 0.9 "ok"\n  }\n}\n`;
    await client.open("e.agent", text);
    const tokens = await client.request<SemanticTokens>("textDocument/semanticTokens/full", {
      textDocument: { uri: client.uri("e.agent") },
    });
    const lines = text.split("\n");
    const decoded: string[] = [];
    let line = 0;
    let ch = 0;
    for (let i = 0; i < tokens.data.length; i += 5) {
      const [dl, dc, len, type, mods] = tokens.data.slice(i, i + 5);
      line += dl;
      ch = dl === 0 ? ch + dc : dc;
      if (line >= 7) decoded.push(`${lines[line].slice(ch, ch + len)}:${type}:${mods}`);
    }
    // The legend's order (semanticTokens.ts): keyword 0, function 2, variable 3, enumMember 5, string 6, number 7.
    for (const t of [
      "eval:0:0",
      "quality:3:1",
      "local:3:4",
      "judge:0:0",
      "helpfulness:2:4",
      "at_least:0:0",
      "0.7:7:0",
      "case:0:0",
      '"c":6:0',
      "expect:0:0",
      "trajectory:0:0",
      "lookup_order:2:0",
      "exact:5:0",
      "scores:0:0",
      "0.9:7:0",
    ])
      assert.ok(decoded.includes(t), `${t} in ${decoded.join(" ")}`);
  });

  it("formats an eval and outlines it with its cases", async () => {
    const messy = `${HEAD}eval  quality{\nagent:support\n   judge helpfulness   at_least 0.7\ncase "late"{\nsend  "Where?"\n  expect trajectory [lookup_order,lookup_order]  exact\nsimulate{backend:local,persona:"p",goal:"g"}\n}\n}\n`;
    const { uri } = await open(messy);
    const edits = await client.request<TextEdit[]>("textDocument/formatting", {
      textDocument: { uri },
      options: { tabSize: 2, insertSpaces: true },
    });
    assert.equal(
      applyTextEdits(messy, edits),
      `${HEAD}eval quality {\n  agent: support\n  judge helpfulness at_least 0.7\n  case "late" {\n    send "Where?"\n    expect trajectory [lookup_order, lookup_order] exact\n    simulate { backend: local, persona: "p", goal: "g" }\n  }\n}\n`,
    );
    const symbols = await client.request<DocumentSymbol[]>("textDocument/documentSymbol", {
      textDocument: { uri },
    });
    const ev = symbols.find((s) => s.name === "quality");
    assert.equal(ev?.detail, "eval");
    assert.deepEqual(
      ev?.children?.map((c) => c.name),
      ["agent", "judge helpfulness at_least 0.7", "late"],
    );
    assert.deepEqual(
      ev?.children?.[2].children?.map((c) => c.name),
      ['send "Where?"', "expect trajectory [lookup_order,lookup_order] exact", "simulate"],
    );
  });
});
