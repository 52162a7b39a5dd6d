// The compiler to the plain-JSON intermediate form: every emitted JSON Schema is valid draft 2020-12 and
// accepts / rejects the right instances, the IR has the documented shape, the hash moves with meaning and
// only with meaning, formatting never changes the compiled form, and unknown agents are reported.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import Ajv2020 from "ajv/dist/2020";
import {
  canonicalJson,
  compileAgent,
  definitionHash,
  IMPLICIT_BACKEND,
  isCompileError,
  type CompiledDefinition,
  type Json,
  type JsonSchema,
} from "../../server/language/compile";
import { format } from "../../server/language/format";
import { Program, type FileSystem } from "../../server/language/program";
import { checkFiles } from "../../server/language/validate";
import { findAgentFiles, nodeFileSystem } from "../../server/language/nodeFileSystem";

const REPO = path.resolve(__dirname, "../..");
const EXAMPLE_DIR = path.join(REPO, "examples/support");
const EXAMPLE_MAIN = path.join(EXAMPLE_DIR, "main.agent");
const WS = "/ws";

// ---- helpers ---------------------------------------------------------------------------------

type Files = Record<string, string>;

/** Absolute paths: names relative to /ws are resolved there. */
const abs = (name: string) => path.resolve(WS, name);

/** A FileSystem over `files` and nothing else. */
function memoryFs(files: Files): FileSystem {
  const byPath = new Map(Object.entries(files).map(([name, text]) => [abs(name), text]));
  return {
    readFile: (p) => byPath.get(path.resolve(p)),
    exists: (p) => byPath.has(path.resolve(p)),
  };
}

/** Loads `root` (and its imports) from `fileSystem`, insists that it validates without errors. */
function loadChecked(fileSystem: FileSystem, root: string): Program {
  const program = new Program(fileSystem);
  assert.ok(program.load(root), `cannot read ${root}`);
  const errors = checkFiles(program, [root]).filter((d) => d.severity === "error");
  assert.deepEqual(
    errors.map((d) => `${path.basename(d.path)}: ${d.code}: ${d.message}`),
    [],
    "the fixture validates without errors",
  );
  return program;
}

function compileIn(program: Program, root: string, agent: string): CompiledDefinition {
  const result = compileAgent(program, root, agent);
  if (isCompileError(result)) assert.fail(result.message);
  return result;
}

/** Compiles `agent` of the in-memory project `files`, entered at `root`. */
function compile(files: Files, agent: string, root = "main.agent"): CompiledDefinition {
  return compileIn(loadChecked(memoryFs(files), abs(root)), abs(root), agent);
}

function compileExample(agent: string, fileSystem: FileSystem = nodeFileSystem()): CompiledDefinition {
  return compileIn(loadChecked(fileSystem, EXAMPLE_MAIN), EXAMPLE_MAIN, agent);
}

/** The example project's files, absolute paths to text. */
function exampleFiles(): Files {
  return Object.fromEntries(findAgentFiles(EXAMPLE_DIR).map((p) => [p, fs.readFileSync(p, "utf8")]));
}

const lines = (...l: string[]) => l.join("\n") + "\n";

/** The smallest valid project around some declarations and one agent body. */
function project(decls: string, agentBody: string): Files {
  return { "main.agent": lines(decls, "agent a {", '  instructions: "Help."', agentBody, "}") };
}

/** A copy of `def` without positions: what formatting or moving lines must not change. */
const meaning = (def: CompiledDefinition) => JSON.parse(canonicalJson(def)) as Json;

// ---- JSON Schema checks -----------------------------------------------------------------------

// ownProperties: without it Ajv reads a property named like an Object.prototype member (`valueOf`) from
// the prototype of an instance that does not have it.
const ajv = new Ajv2020({ strict: true, allErrors: true, ownProperties: true });

function validator(schema: JsonSchema, label: string) {
  try {
    return ajv.compile(schema);
  } catch (e) {
    assert.fail(
      `${label}: not a valid strict draft 2020-12 schema: ${(e as Error).message}\n${JSON.stringify(schema)}`,
    );
  }
}

function accepts(schema: JsonSchema, instance: unknown, label: string): void {
  const validate = validator(schema, label);
  assert.ok(
    validate(instance),
    `${label} should accept ${JSON.stringify(instance)}: ${ajv.errorsText(validate.errors)}`,
  );
}

function rejects(schema: JsonSchema, instance: unknown, label: string): void {
  assert.equal(
    validator(schema, label)(instance),
    false,
    `${label} should reject ${JSON.stringify(instance)}`,
  );
}

/** Every schema of a definition: tool parameters and outputs, memory fields. */
function schemasOf(def: CompiledDefinition): [string, JsonSchema][] {
  const out: [string, JsonSchema][] = [];
  for (const t of Object.values(def.tools)) {
    out.push([`tool ${t.name} parameters`, t.parameters]);
    if (t.output) out.push([`tool ${t.name} output`, t.output]);
  }
  for (const m of Object.values(def.memories))
    for (const [name, f] of Object.entries(m.fields)) out.push([`memory ${m.name}.${name}`, f.schema]);
  return out;
}

type Schema = { [key: string]: unknown };

function resolve(schema: Schema, root: Schema): Schema {
  const ref = schema.$ref;
  if (typeof ref !== "string") return schema;
  const name = ref.replace(/^#\/\$defs\//, "");
  const target = (root.$defs as Record<string, Schema> | undefined)?.[name];
  assert.ok(target, `unresolved ${ref}`);
  return resolve(target, root);
}

/** A valid instance of `schema`: every property present (optional ones until `depth` runs out). */
function sample(schema: Schema, root: Schema, depth = 3): unknown {
  const s = resolve(schema, root);
  if (Array.isArray(s.enum)) return s.enum[s.enum.length - 1];
  switch (s.type) {
    case "string":
      return "text";
    case "number":
      return 2.5;
    case "integer":
      return 7;
    case "boolean":
      return true;
    case "array":
      return depth > 0 ? [sample(s.items as Schema, root, depth - 1)] : [];
    case "object": {
      const required = new Set(s.required as string[]);
      const props = s.properties as Record<string, Schema>;
      return Object.fromEntries(
        Object.entries(props)
          .filter(([k]) => required.has(k) || depth > 0)
          .map(([k, v]) => [k, sample(v, root, depth - 1)]),
      );
    }
    default:
      return { any: ["json", 1, null] };
  }
}

/** A value of the wrong type for `schema`, or undefined when anything goes (`json`). */
function wrongValue(schema: Schema, root: Schema): unknown {
  const s = resolve(schema, root);
  if (Array.isArray(s.enum)) return "not-one-of-them";
  switch (s.type) {
    case "string":
      return 12;
    case "number":
    case "integer":
      return "12";
    case "boolean":
      return "yes";
    case "array":
    case "object":
      return "neither";
    default:
      return undefined;
  }
}

/**
 * Checks `schema` against generated instances: a full and a minimal good one pass; a wrong type, each
 * missing required property, an extra property and each property of the wrong type fail.
 */
function exercise(schema: JsonSchema, label: string): void {
  const root = schema as Schema;
  accepts(schema, sample(root, root), label);
  accepts(schema, sample(root, root, 0), `${label} (required members only)`);
  const wrong = wrongValue(root, root);
  if (wrong !== undefined) rejects(schema, wrong, `${label} (wrong type)`);
  const s = resolve(root, root);
  if (s.type !== "object") return;
  const good = sample(root, root) as Record<string, unknown>;
  for (const key of s.required as string[]) {
    const missing = { ...good };
    delete missing[key];
    rejects(schema, missing, `${label} without '${key}'`);
  }
  rejects(schema, { ...good, unexpected_extra: 1 }, `${label} with an extra property`);
  for (const [key, propSchema] of Object.entries(s.properties as Record<string, Schema>)) {
    const bad = wrongValue(propSchema, root);
    if (bad !== undefined)
      rejects(schema, { ...good, [key]: bad }, `${label} with '${key}' of the wrong type`);
  }
}

// ---- 1. JSON Schema --------------------------------------------------------------------------------

describe("compile: JSON Schemas are valid draft 2020-12", () => {
  for (const agent of ["support", "billing"]) {
    it(`every schema of the example's '${agent}' compiles under strict Ajv 2020 and sorts good from bad`, () => {
      const def = compileExample(agent);
      const schemas = schemasOf(def);
      assert.ok(schemas.length >= 4, "the example has tools and memory fields");
      for (const [label, schema] of schemas) exercise(schema, label);
    });
  }

  it("the example's schemas accept and reject hand-written instances", () => {
    const def = compileExample("support");
    const lookup = def.tools.lookup_order;
    accepts(lookup.parameters, { order_id: "A1001" }, "lookup_order parameters");
    rejects(lookup.parameters, { order_id: 1001 }, "lookup_order parameters");
    rejects(lookup.parameters, {}, "lookup_order parameters");
    rejects(lookup.parameters, { order_id: "A1", verbose: true }, "lookup_order parameters");
    const order = {
      id: "A1001",
      total: 65,
      status: "delivered",
      placed_at: "2025-05-20",
      items: [{ sku: "MUG", name: "Mugs", quantity: 1, unit_price: 40 }],
    };
    const output = lookup.output!;
    accepts(output, order, "Order");
    accepts(output, { ...order, items: undefined }, "Order without items");
    rejects(output, { ...order, status: "lost" }, "Order with a status outside the enum");
    rejects(
      output,
      { ...order, items: [{ ...order.items[0], quantity: 1.5 }] },
      "Order with a fractional quantity",
    );
    rejects(output, { ...order, items: [{ sku: "MUG" }] }, "Order with an incomplete line item");
    const refund = def.tools.refund.parameters;
    accepts(refund, { order_id: "A1", amount: 40 }, "refund parameters without the optional reason");
    rejects(refund, { order_id: "A1", amount: "40" }, "refund parameters");
    const memory = def.memories.customer.fields;
    accepts(memory.open_tickets.schema, 2, "open_tickets");
    rejects(memory.open_tickets.schema, 2.5, "open_tickets");
    rejects(memory.preferred_name.schema, 3, "preferred_name");
  });

  interface TypeCase {
    name: string;
    /** Declarations the field type needs. */
    decls?: string;
    /** The field type as written. */
    type: string;
    /** The property's schema. */
    schema: JsonSchema;
    defs?: Record<string, JsonSchema>;
    good: Json[];
    bad: Json[];
  }

  const obj = (properties: Record<string, JsonSchema>, required: string[]): JsonSchema => ({
    type: "object",
    properties,
    required,
    additionalProperties: false,
  });

  const NODE = obj(
    { name: { type: "string" }, children: { type: "array", items: { $ref: "#/$defs/Node" } } },
    ["name"],
  );

  const CASES: TypeCase[] = [
    { name: "string", type: "string", schema: { type: "string" }, good: ["", "x"], bad: [1, null, true] },
    { name: "number", type: "number", schema: { type: "number" }, good: [1, 2.5, -3], bad: ["1", null] },
    { name: "integer", type: "integer", schema: { type: "integer" }, good: [0, -1, 3], bad: [2.5, "3"] },
    { name: "boolean", type: "boolean", schema: { type: "boolean" }, good: [true, false], bad: [0, "true"] },
    { name: "json", type: "json", schema: {}, good: [null, 1, "x", [1], { a: [1] }], bad: [] },
    {
      name: "enum",
      type: 'enum("a", "b")',
      schema: { type: "string", enum: ["a", "b"] },
      good: ["a", "b"],
      bad: ["c", "A", 1],
    },
    {
      name: "a declared type",
      decls: 'type Point { x: number, y: number, label?: string "Shown next to it" }',
      type: "Point",
      schema: obj(
        {
          x: { type: "number" },
          y: { type: "number" },
          label: { type: "string", description: "Shown next to it" },
        },
        ["x", "y"],
      ),
      good: [
        { x: 1, y: 2 },
        { x: 1, y: 2, label: "p" },
      ],
      bad: [{ x: 1 }, { x: 1, y: "2" }, { x: 1, y: 2, z: 3 }, [1, 2], "p"],
    },
    {
      name: "nested declared types",
      decls: lines("type Outer { inner: Inner, all: Inner[] }", "type Inner { n: integer }"),
      type: "Outer",
      schema: obj(
        {
          inner: obj({ n: { type: "integer" } }, ["n"]),
          all: { type: "array", items: obj({ n: { type: "integer" } }, ["n"]) },
        },
        ["inner", "all"],
      ),
      good: [
        { inner: { n: 1 }, all: [] },
        { inner: { n: 1 }, all: [{ n: 2 }, { n: 3 }] },
      ],
      bad: [
        { inner: { n: 1.5 }, all: [] },
        { inner: { n: 1, extra: 1 }, all: [] },
        { inner: { n: 1 }, all: [{}] },
        { inner: { n: 1 } },
      ],
    },
    {
      name: "a list of a builtin",
      type: "string[]",
      schema: { type: "array", items: { type: "string" } },
      good: [[], ["a", "b"]],
      bad: [["a", 1], "a", null],
    },
    {
      name: "a list of enum words",
      type: 'enum("low", "high")[]',
      schema: { type: "array", items: { type: "string", enum: ["low", "high"] } },
      good: [[], ["low", "high", "low"]],
      bad: [["medium"], "low"],
    },
    {
      name: "a list of a declared type",
      decls: "type Tag { key: string, value?: json }",
      type: "Tag[]",
      schema: {
        type: "array",
        items: obj({ key: { type: "string" }, value: {} }, ["key"]),
      },
      good: [[], [{ key: "a" }, { key: "b", value: { any: 1 } }]],
      bad: [[{ value: 1 }], [{ key: "a", other: 1 }], { key: "a" }],
    },
    {
      name: "a recursive type",
      decls: "type Node { name: string, children?: Node[] }",
      type: "Node",
      schema: { $ref: "#/$defs/Node" },
      defs: { Node: NODE },
      good: [
        { name: "leaf" },
        { name: "a", children: [{ name: "b", children: [{ name: "c", children: [] }] }, { name: "d" }] },
      ],
      bad: [
        { name: "a", children: [{ name: "b", children: [{ children: [] }] }] },
        { name: "a", children: [{ name: "b", children: [{ name: "c", extra: true }] }] },
        { name: "a", children: [{ name: 1 }] },
        { name: "a", children: { name: "b" } },
      ],
    },
    {
      name: "a list of a recursive type",
      decls: "type Node { name: string, children?: Node[] }",
      type: "Node[]",
      schema: { type: "array", items: { $ref: "#/$defs/Node" } },
      defs: { Node: NODE },
      good: [[], [{ name: "a", children: [{ name: "b" }] }]],
      bad: [[{ name: "a", children: [{}] }]],
    },
    {
      name: "mutually recursive types",
      decls: lines("type Person { name: string, employer?: Company }", "type Company { staff: Person[] }"),
      type: "Company",
      schema: { $ref: "#/$defs/Company" },
      defs: {
        Company: obj(
          {
            staff: {
              type: "array",
              items: obj({ name: { type: "string" }, employer: { $ref: "#/$defs/Company" } }, ["name"]),
            },
          },
          ["staff"],
        ),
      },
      good: [{ staff: [] }, { staff: [{ name: "a", employer: { staff: [{ name: "b" }] } }] }],
      bad: [{ staff: [{ name: "a", employer: { staff: [{}] } }] }, { staff: [{ name: "a", employer: {} }] }],
    },
  ];

  /** One tool whose input has the field, one memory with the field, one agent using both. */
  function fieldProject(c: TypeCase, field: string): Files {
    return project(
      lines(
        c.decls ?? "",
        `tool t {`,
        `  description: "Takes one value"`,
        `  input { ${field} }`,
        `}`,
        `memory m {`,
        `  fields { ${field} }`,
        `}`,
      ),
      "  tools: [t]\n  memory: m",
    );
  }

  for (const c of CASES) {
    describe(`field type: ${c.name}`, () => {
      const def = () => compile(fieldProject(c, `v: ${c.type}`), "a");
      const withDefs = (s: JsonSchema): JsonSchema => (c.defs ? { ...s, $defs: c.defs } : s);

      it("maps to the expected schema in a tool's parameters and in a memory field", () => {
        const d = def();
        assert.deepEqual(d.tools.t.parameters, withDefs(obj({ v: c.schema }, ["v"])));
        assert.deepEqual(d.memories.m.fields.v, { schema: withDefs(c.schema), optional: false });
      });

      it("the parameters accept the good values and reject the bad ones, a missing value and extras", () => {
        const params = def().tools.t.parameters;
        for (const g of c.good) accepts(params, { v: g }, `${c.name} parameters`);
        for (const b of c.bad) rejects(params, { v: b }, `${c.name} parameters`);
        rejects(params, {}, `${c.name} parameters without v`);
        if (c.good.length)
          rejects(params, { v: c.good[0], w: 1 }, `${c.name} parameters with an extra property`);
        exercise(params, `${c.name} parameters`);
      });

      it("the memory field's schema stands alone: good values pass, bad ones fail", () => {
        const schema = def().memories.m.fields.v.schema;
        for (const g of c.good) accepts(schema, g, `${c.name} memory field`);
        for (const b of c.bad) rejects(schema, b, `${c.name} memory field`);
        exercise(schema, `${c.name} memory field`);
      });

      it("an optional field is left out of `required` and may be absent", () => {
        const d = compile(fieldProject(c, `v?: ${c.type}`), "a");
        assert.deepEqual(d.tools.t.parameters.required, []);
        assert.deepEqual(d.tools.t.parameters.properties, { v: c.schema });
        accepts(d.tools.t.parameters, {}, `${c.name} optional parameters`);
        assert.equal(d.memories.m.fields.v.optional, true);
      });

      it("a description goes into `description`", () => {
        const d = compile(fieldProject(c, `v: ${c.type} "What v is"`), "a");
        const described = { ...c.schema, description: "What v is" };
        assert.deepEqual(d.tools.t.parameters.properties, { v: described });
        assert.deepEqual(d.memories.m.fields.v.schema, withDefs(described));
        for (const g of c.good) accepts(d.tools.t.parameters, { v: g }, `${c.name} described`);
      });
    });
  }

  it("a declared type as a tool's output is a standalone schema, recursive ones with their $defs", () => {
    const d = compile(
      project(
        lines(
          "type Node { name: string, children?: Node[] }",
          "type Leaf { name: string }",
          'tool tree { description: "A tree", output: Node }',
          'tool leaf { description: "A leaf", output: Leaf }',
          'tool nothing { description: "No output" }',
        ),
        "  tools: [tree, leaf, nothing]",
      ),
      "a",
    );
    assert.deepEqual(d.tools.tree.output, { $ref: "#/$defs/Node", $defs: { Node: NODE } });
    accepts(
      d.tools.tree.output!,
      { name: "a", children: [{ name: "b", children: [{ name: "c" }] }] },
      "tree",
    );
    rejects(d.tools.tree.output!, { name: "a", children: [{ name: "b", children: [{}] }] }, "tree");
    assert.deepEqual(d.tools.leaf.output, obj({ name: { type: "string" } }, ["name"]));
    assert.equal(d.tools.nothing.output, undefined);
    assert.deepEqual(d.tools.nothing.parameters, obj({}, []));
    accepts(d.tools.nothing.parameters, {}, "no parameters");
    rejects(d.tools.nothing.parameters, { x: 1 }, "no parameters");
    for (const [label, schema] of schemasOf(d)) exercise(schema, label);
  });

  it("a recursive type in parameters keeps $defs at the root and validates deep instances", () => {
    const d = compile(
      project(
        lines(
          "type Node { name: string, children?: Node[] }",
          'tool t { description: "d", input { root: Node, note?: string } }',
        ),
        "  tools: [t]",
      ),
      "a",
    );
    const params = d.tools.t.parameters;
    assert.deepEqual(params, {
      ...obj({ root: { $ref: "#/$defs/Node" }, note: { type: "string" } }, ["root"]),
      $defs: { Node: NODE },
    });
    const deep = {
      name: "1",
      children: [{ name: "2", children: [{ name: "3", children: [{ name: "4" }] }] }],
    };
    accepts(params, { root: deep }, "recursive parameters");
    rejects(params, { root: { name: "1", children: [{ name: "2", children: [{ name: 3 }] }] } }, "recursive");
  });

  it("fields named like Object.prototype members are compiled like any other", () => {
    const d = compile(
      project(
        lines(
          "type T { constructor: string, toString?: number }",
          'tool toString { description: "d", input { constructor: string, valueOf?: integer }, output: T }',
          "memory hasOwnProperty { fields { constructor: string } }",
        ),
        "  tools: [toString]\n  memory: hasOwnProperty",
      ),
      "a",
    );
    // Looked up through a variable: TypeScript would read `d.tools.toString` as Object.prototype's.
    const [toolName, memoryName]: string[] = ["toString", "hasOwnProperty"];
    assert.deepEqual(Object.keys(d.tools), [toolName]);
    assert.deepEqual(
      d.tools[toolName].parameters,
      obj({ constructor: { type: "string" }, valueOf: { type: "integer" } }, ["constructor"]),
    );
    assert.deepEqual(
      d.tools[toolName].output,
      obj({ constructor: { type: "string" }, toString: { type: "number" } }, ["constructor"]),
    );
    assert.deepEqual(Object.keys(d.memories), [memoryName]);
    assert.deepEqual(Object.keys(d.memories[memoryName].fields), ["constructor"]);
    for (const [label, schema] of schemasOf(d)) exercise(schema, label);
  });

  it("declarations, fields and vars called __proto__ are own members, not prototypes", () => {
    const files = project(
      lines(
        "type __proto__ { __proto__?: __proto__[], name: string }",
        'tool __proto__ { description: "d", input { __proto__: string }, output: __proto__ }',
        "memory m { fields { __proto__: integer } }",
      ),
      "  tools: [__proto__]\n  memory: m",
    );
    const d = compile(files, "a");
    const key = "__proto__";
    assert.deepEqual(Object.keys(d.tools), [key]);
    const tool = Object.getOwnPropertyDescriptor(d.tools, key)?.value as CompiledDefinition["tools"][string];
    assert.deepEqual(Object.keys(tool.parameters.properties as object), [key]);
    assert.deepEqual(Object.keys(tool.output?.$defs as object), [key]);
    assert.deepEqual(Object.keys(d.memories.m.fields), [key]);
    assert.ok(JSON.stringify(d).includes('"__proto__":{"name":"__proto__"'));
    // The schemas compile; Ajv itself cannot validate an instance with a `__proto__` member.
    for (const [label, schema] of schemasOf(d)) validator(schema, label);
    // The validator does not take `vars { __proto__: ... }` yet; the compiler alone must keep it.
    const program = new Program(memoryFs(project("", '  vars { __proto__: "v", other: 1 }')));
    program.load(abs("main.agent"));
    const vars = compileIn(program, abs("main.agent"), "a").agents.a.vars;
    assert.deepEqual(Object.keys(vars), [key, "other"]);
    assert.equal(Object.getPrototypeOf(vars), Object.prototype);
  });
});

// ---- 2. the shape of the IR ------------------------------------------------------------------------

const SHAPE: Files = {
  "main.agent": lines(
    "// The entry file; the others live in subfolders.",
    'import "lib/tools.agent"',
    'import "lib/servers.agent"',
    'import "knowledge/context.agent"',
    'import "agents.agent"',
    "",
    "backend cloud {",
    "  kind: stateless",
    "  provider: openai",
    '  model: "gpt-4.1-mini"',
    '  api_key: env("SHAPE_OPENAI_KEY")',
    "  context_window: 128_000",
    "}",
    "",
    "backend runtime {",
    "  kind: stateful",
    "  provider: bedrock",
    '  model: "anthropic.claude-3-5-sonnet-20241022-v2:0"',
    '  region: "us-east-1"',
    '  endpoint: "http://127.0.0.1:8080"',
    '  api_key: env("SHAPE_RUNTIME_TOKEN")',
    "}",
    "",
    "backend azure_unused {",
    "  kind: stateless",
    "  provider: azure",
    '  model: "my-deployment"',
    '  endpoint: "https://example.openai.azure.com"',
    '  api_version: "2024-10-21"',
    "  api: responses",
    '  api_key: env("SHAPE_AZURE_KEY")',
    "}",
  ),
  "lib/tools.agent": lines(
    'import "servers.agent"',
    "type Order { id: string, total: number }",
    "tool lookup_order {",
    '  description: "Look up an order"',
    '  input { order_id: string "The order id" }',
    "  output: Order",
    '  run: http("get", "https://orders.example/api/{{input.order_id}}?full=1")',
    '  requires: ["orders:read"]',
    "  timeout_ms: 5_000",
    "}",
    "tool refund {",
    '  description: "Refund an order"',
    "  input { order_id: string, amount: number, reason?: string }",
    '  run: command("node", ["scripts/refund.js", "--live"])',
    '  requires: ["refunds:write"]',
    "}",
    "tool track {",
    '  description: "Track a parcel"',
    "  input { order_id: string }",
    '  run: mcp(orders, "track_parcel")',
    "}",
    "tool search_docs {",
    '  description: "Search the docs"',
    "  input { query: string }",
    '  run: mcp(docs, "search")',
    "}",
    "tool mocked_only {",
    '  description: "Only ever mocked in tests"',
    "}",
    "tool unused_tool {",
    '  description: "Nobody uses it"',
    '  run: http("POST", "https://x.example/")',
    "}",
  ),
  "lib/servers.agent": lines(
    "mcp orders {",
    '  command: command("node", ["servers/orders.js"])',
    "  env {",
    '    ORDERS_TOKEN: env("SHAPE_ORDERS_TOKEN")',
    '    MODE: "test"',
    "  }",
    "}",
    "mcp docs {",
    '  url: "http://127.0.0.1:3001/mcp"',
    "}",
  ),
  "knowledge/context.agent": lines(
    "context refund_policy {",
    '  description: "Refund policy"',
    '  from: file("../docs/refunds.md")',
    "  max_tokens: 1500",
    "}",
    "context live_status {",
    '  from: http("get", "https://status.example/now")',
    "  refresh: per_turn",
    "}",
    "context local_note {",
    '  from: file("note.md")',
    "}",
  ),
  "docs/refunds.md": "# Refunds\n",
  "knowledge/note.md": "A note.\n",
  "agents.agent": lines(
    'import "main.agent"',
    "memory customer {",
    "  scope: user",
    "  window: 12",
    "  summarize_after: 6000",
    "  fields {",
    '    preferred_name?: string "How to address them"',
    "    open_tickets: integer",
    "  }",
    "}",
    "memory scratch {",
    "  scope: agent",
    "  fields { notes: string[] }",
    "}",
    "agent front {",
    '  description: "Front desk"',
    "  backend: cloud",
    '  model: "gpt-4.1"',
    "  temperature: 0.2",
    '  instructions: """',
    "    You help customers of {{vars.company}}.",
    "      Indented line.",
    '  """',
    "  vars {",
    '    company: "Acme"',
    "    limit: 500",
    "    vip: true",
    '    regions: ["eu", "us"]',
    "  }",
    "  context: [refund_policy, live_status]",
    "  memory: customer",
    "  tools: [lookup_order, refund, mocked_only]",
    "  handoffs: [back]",
    "  identity {",
    '    role: "support-tier-1"',
    "    acts_for: user",
    '    scopes: ["orders:read", "refunds:write"]',
    "  }",
    "  policy {",
    "    require_approval: [refund]",
    '    deny refund when input.amount > 500 and not (input.order_id == "VIP")',
    '    deny refund when input.reason contains "fraud" or input.order_id matches "^T-"',
    "    max_turns: 10",
    "    max_tool_calls: 20",
    "    max_tokens: 50_000",
    "  }",
    "}",
    "agent back {",
    '  instructions: "Back office."',
    "  backend: runtime",
    "  context: [local_note]",
    "  memory: scratch",
    "  tools: [track, search_docs]",
    "  handoffs: [front]",
    "  identity {",
    "    acts_for: service",
    "  }",
    "}",
    "agent unrelated {",
    '  instructions: "Not reachable from front."',
    "  backend: cloud",
    "  tools: [unused_tool]",
    "}",
  ),
};

describe("compile: the shape of the intermediate form", () => {
  const def = () => compile(SHAPE, "front");

  it("holds the entry agent and the agents reachable through handoffs, and only what they use", () => {
    const d = def();
    assert.equal(d.format, 1);
    assert.equal(d.agent, "front");
    assert.deepEqual(Object.keys(d.agents).sort(), ["back", "front"]);
    assert.deepEqual(Object.keys(d.tools).sort(), [
      "lookup_order",
      "mocked_only",
      "refund",
      "search_docs",
      "track",
    ]);
    assert.deepEqual(Object.keys(d.contexts).sort(), ["live_status", "local_note", "refund_policy"]);
    assert.deepEqual(Object.keys(d.memories).sort(), ["customer", "scratch"]);
    assert.deepEqual(Object.keys(d.backends).sort(), ["cloud", "runtime"]);
    assert.deepEqual(Object.keys(d.mcpServers).sort(), ["docs", "orders"]);
    assert.match(d.hash, /^sha256:[0-9a-f]{64}$/);
    const fromBack = compile(SHAPE, "back");
    assert.equal(fromBack.agent, "back");
    assert.deepEqual(Object.keys(fromBack.agents).sort(), ["back", "front"]);
    assert.notEqual(fromBack.hash, d.hash, "the entry agent is part of the definition");
    const alone = compile(SHAPE, "unrelated");
    assert.deepEqual(Object.keys(alone.agents), ["unrelated"]);
    assert.deepEqual(Object.keys(alone.tools), ["unused_tool"]);
    assert.deepEqual(Object.keys(alone.backends), ["cloud"]);
  });

  it("compiles an agent's own properties", () => {
    const front = def().agents.front;
    assert.deepEqual(front, {
      name: "front",
      description: "Front desk",
      backend: "cloud",
      model: "gpt-4.1",
      temperature: 0.2,
      instructions: "You help customers of {{vars.company}}.\n  Indented line.",
      vars: { company: "Acme", limit: 500, vip: true, regions: ["eu", "us"] },
      context: ["refund_policy", "live_status"],
      memory: "customer",
      tools: ["lookup_order", "refund", "mocked_only"],
      handoffs: ["back"],
      identity: { role: "support-tier-1", actsFor: "user", scopes: ["orders:read", "refunds:write"] },
      policy: front.policy,
      source: { file: "agents.agent", line: 15 },
    });
    const back = def().agents.back;
    assert.equal(back.description, undefined);
    assert.equal(back.model, undefined);
    assert.equal(back.temperature, undefined);
    assert.deepEqual(back.vars, {});
    assert.deepEqual(back.identity, { role: undefined, actsFor: "service", scopes: [] });
    assert.deepEqual(back.policy, {
      requireApproval: [],
      deny: [],
      maxTurns: undefined,
      maxToolCalls: undefined,
      maxTokens: undefined,
    });
  });

  it("compiles the policy, with deny conditions as expression trees", () => {
    const policy = def().agents.front.policy;
    assert.deepEqual(policy.requireApproval, ["refund"]);
    assert.equal(policy.maxTurns, 10);
    assert.equal(policy.maxToolCalls, 20);
    assert.equal(policy.maxTokens, 50_000);
    assert.deepEqual(policy.deny, [
      {
        tool: "refund",
        when: {
          op: "and",
          left: { op: ">", left: { path: ["input", "amount"] }, right: { value: 500 } },
          right: {
            op: "not",
            operand: { op: "==", left: { path: ["input", "order_id"] }, right: { value: "VIP" } },
          },
        },
        text: 'input.amount > 500 and not (input.order_id == "VIP")',
        source: { file: "agents.agent", line: 41 },
      },
      {
        tool: "refund",
        when: {
          op: "or",
          left: { op: "contains", left: { path: ["input", "reason"] }, right: { value: "fraud" } },
          right: { op: "matches", left: { path: ["input", "order_id"] }, right: { value: "^T-" } },
        },
        text: 'input.reason contains "fraud" or input.order_id matches "^T-"',
        source: { file: "agents.agent", line: 42 },
      },
    ]);
  });

  it("compiles tools: description, run, requires, timeout and source", () => {
    const { tools } = def();
    assert.deepEqual(tools.lookup_order.run, {
      kind: "http",
      method: "GET",
      url: "https://orders.example/api/{{input.order_id}}?full=1",
    });
    assert.equal(tools.lookup_order.description, "Look up an order");
    assert.deepEqual(tools.lookup_order.requires, ["orders:read"]);
    assert.equal(tools.lookup_order.timeoutMs, 5000);
    assert.deepEqual(tools.lookup_order.source, { file: "lib/tools.agent", line: 3 });
    assert.deepEqual(tools.refund.run, {
      kind: "command",
      executable: "node",
      args: ["scripts/refund.js", "--live"],
      cwd: "lib",
    });
    assert.equal(tools.refund.timeoutMs, undefined);
    assert.deepEqual(tools.track.run, { kind: "mcp", server: "orders", tool: "track_parcel" });
    assert.deepEqual(tools.track.requires, []);
    assert.deepEqual(tools.search_docs.run, { kind: "mcp", server: "docs", tool: "search" });
    assert.equal(tools.mocked_only.run, null);
    assert.equal(tools.mocked_only.output, undefined);
    assert.deepEqual(tools.mocked_only.parameters, {
      type: "object",
      properties: {},
      required: [],
      additionalProperties: false,
    });
  });

  it("compiles the mcp servers the tools use, with their transport and env", () => {
    const { mcpServers } = def();
    assert.deepEqual(mcpServers.orders, {
      name: "orders",
      transport: { kind: "stdio", executable: "node", args: ["servers/orders.js"], cwd: "lib" },
      env: { ORDERS_TOKEN: { env: "SHAPE_ORDERS_TOKEN" }, MODE: "test" },
      source: { file: "lib/servers.agent", line: 1 },
    });
    assert.deepEqual(mcpServers.docs, {
      name: "docs",
      transport: { kind: "http", url: "http://127.0.0.1:3001/mcp" },
      env: {},
      source: { file: "lib/servers.agent", line: 8 },
    });
  });

  it("compiles contexts with paths relative to the root file's folder", () => {
    const { contexts } = def();
    assert.deepEqual(contexts.refund_policy, {
      name: "refund_policy",
      description: "Refund policy",
      from: { kind: "file", path: "docs/refunds.md" },
      refresh: "per_session",
      maxTokens: 1500,
      source: { file: "knowledge/context.agent", line: 1 },
    });
    assert.deepEqual(contexts.live_status.from, {
      kind: "http",
      method: "GET",
      url: "https://status.example/now",
    });
    assert.equal(contexts.live_status.refresh, "per_turn");
    assert.equal(contexts.live_status.maxTokens, undefined);
    assert.deepEqual(contexts.local_note.from, { kind: "file", path: "knowledge/note.md" });
  });

  it("compiles memories: scope, window, summarizeAfter and fields with `optional`", () => {
    const { memories } = def();
    assert.deepEqual(memories.customer, {
      name: "customer",
      scope: "user",
      window: 12,
      summarizeAfter: 6000,
      fields: {
        preferred_name: { schema: { type: "string", description: "How to address them" }, optional: true },
        open_tickets: { schema: { type: "integer" }, optional: false },
      },
      source: { file: "agents.agent", line: 2 },
    });
    assert.deepEqual(memories.scratch, {
      name: "scratch",
      scope: "agent",
      window: 20,
      summarizeAfter: undefined,
      fields: { notes: { schema: { type: "array", items: { type: "string" } }, optional: false } },
      source: { file: "agents.agent", line: 11 },
    });
    const session = compile(project("memory s { fields { n: number } }", "  memory: s"), "a");
    assert.equal(session.memories.s.scope, "session");
    assert.equal(session.memories.s.window, 20);
  });

  it("compiles the named backends with the key's variable name and no secret value", () => {
    const secrets = {
      SHAPE_OPENAI_KEY: "sk-openai-secret-value-1",
      SHAPE_RUNTIME_TOKEN: "runtime-secret-value-2",
      SHAPE_ORDERS_TOKEN: "orders-secret-value-3",
      SHAPE_AZURE_KEY: "azure-secret-value-4",
    };
    const saved = Object.fromEntries(Object.keys(secrets).map((k) => [k, process.env[k]]));
    Object.assign(process.env, secrets);
    let d: CompiledDefinition;
    try {
      d = def();
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    assert.deepEqual(d.backends.cloud, {
      name: "cloud",
      kind: "stateless",
      provider: "openai",
      model: "gpt-4.1-mini",
      endpoint: undefined,
      api: "chat",
      apiVersion: undefined,
      region: undefined,
      apiKeyEnv: "SHAPE_OPENAI_KEY",
      contextWindow: 128_000,
    });
    assert.deepEqual(d.backends.runtime, {
      name: "runtime",
      kind: "stateful",
      provider: "bedrock",
      model: "anthropic.claude-3-5-sonnet-20241022-v2:0",
      endpoint: "http://127.0.0.1:8080",
      api: "chat",
      apiVersion: undefined,
      region: "us-east-1",
      apiKeyEnv: "SHAPE_RUNTIME_TOKEN",
      contextWindow: undefined,
    });
    assert.equal(d.agents.back.backend, "runtime");
    const text = JSON.stringify(d);
    for (const secret of Object.values(secrets)) assert.ok(!text.includes(secret), `${secret} leaked`);
    assert.ok(!canonicalJson(d, false).includes("secret-value"));
  });

  it("compiles a backend's api, api_version and endpoint when named", () => {
    const files = {
      ...SHAPE,
      "agents.agent": SHAPE["agents.agent"].replace("backend: runtime", "backend: azure_unused"),
    };
    const d = compile(files, "front");
    assert.deepEqual(d.backends.azure_unused, {
      name: "azure_unused",
      kind: "stateless",
      provider: "azure",
      model: "my-deployment",
      endpoint: "https://example.openai.azure.com",
      api: "responses",
      apiVersion: "2024-10-21",
      region: undefined,
      apiKeyEnv: "SHAPE_AZURE_KEY",
      contextWindow: undefined,
    });
    assert.deepEqual(Object.keys(d.backends).sort(), ["azure_unused", "cloud"]);
  });

  it("uses the implicit local backend when none is declared", () => {
    const d = compile(project("", ""), "a");
    assert.equal(d.agents.a.backend, "local");
    assert.deepEqual(d.backends, { local: IMPLICIT_BACKEND });
    assert.deepEqual(d.backends.local, {
      name: "local",
      kind: "stateless",
      provider: "local",
      api: "chat",
      implicit: true,
    });
  });

  it("uses the only declared backend when the agent names none", () => {
    const d = compile(
      project(
        'backend only { kind: stateless, provider: compatible, endpoint: "http://localhost:11434/v1" }',
        "",
      ),
      "a",
    );
    assert.equal(d.agents.a.backend, "only");
    assert.deepEqual(Object.keys(d.backends), ["only"]);
    assert.equal(d.backends.only.provider, "compatible");
    assert.equal(d.backends.only.endpoint, "http://localhost:11434/v1");
    assert.equal(d.backends.only.implicit, undefined);
  });

  it("compiles the example project", () => {
    const d = compileExample("support");
    assert.deepEqual(Object.keys(d.agents).sort(), ["billing", "support"]);
    assert.deepEqual(d.backends, {
      local_dev: {
        name: "local_dev",
        kind: "stateless",
        provider: "local",
        model: undefined,
        endpoint: undefined,
        api: "chat",
        apiVersion: undefined,
        region: undefined,
        apiKeyEnv: undefined,
        contextWindow: undefined,
      },
    });
    assert.deepEqual(d.tools.lookup_order.run, {
      kind: "command",
      executable: "node",
      args: ["tools/lookup_order.js"],
      cwd: ".",
    });
    assert.deepEqual(d.contexts.refund_policy.from, { kind: "file", path: "docs/refunds.md" });
    assert.deepEqual(d.agents.support.policy.deny[0].when, {
      op: ">",
      left: { path: ["input", "amount"] },
      right: { value: 500 },
    });
    assert.deepEqual(d.agents.support.source, { file: "agents.agent", line: 8 });
    assert.equal(
      d.memories.customer.fields.preferred_name.schema.description,
      "How the customer likes to be addressed",
    );
    const billing = compileExample("billing");
    assert.deepEqual(Object.keys(billing.agents), ["billing"]);
    assert.deepEqual(Object.keys(billing.tools), ["explain_invoice"]);
  });

  it("is plain JSON: it survives a JSON round trip unchanged (bar undefined members)", () => {
    const d = def();
    const roundTrip = JSON.parse(JSON.stringify(d)) as CompiledDefinition;
    assert.equal(canonicalJson(roundTrip), canonicalJson(d));
    assert.equal(definitionHash(roundTrip), d.hash);
  });
});

// ---- 3. the hash ------------------------------------------------------------------------------------

const HASHED: Files = {
  "main.agent": lines(
    'import "tools.agent"',
    "backend cloud {",
    "  kind: stateless",
    "  provider: openai",
    '  model: "gpt-4.1-mini"',
    '  api_key: env("OPENAI_API_KEY")',
    "}",
    "memory notes { fields { topic?: string } }",
    "agent a {",
    "  backend: cloud",
    '  instructions: "Help with orders."',
    "  memory: notes",
    "  tools: [lookup, refund]",
    "  policy {",
    "    deny refund when input.amount > 500",
    "    max_turns: 10",
    "  }",
    "}",
  ),
  "tools.agent": lines(
    "type Order { id: string, total: number }",
    'tool lookup { description: "Look up an order", input { id: string }, output: Order }',
    'tool refund { description: "Refund", input { id: string, amount: number } }',
  ),
};

/** HASHED with one substring of one file replaced (which must occur). */
function edited(file: string, from: string, to: string): Files {
  assert.ok(HASHED[file].includes(from), `${file} has ${from}`);
  return { ...HASHED, [file]: HASHED[file].replace(from, to) };
}

describe("compile: the definition hash", () => {
  const base = () => compile(HASHED, "a");

  it("is stable across compiles and programs", () => {
    const one = base();
    const two = base();
    assert.equal(one.hash, two.hash);
    const program = loadChecked(memoryFs(HASHED), abs("main.agent"));
    assert.equal(
      compileIn(program, abs("main.agent"), "a").hash,
      compileIn(program, abs("main.agent"), "a").hash,
    );
    assert.equal(definitionHash(one), one.hash, "the hash is the hash of the rest");
    assert.equal(compileExample("support").hash, compileExample("support").hash);
  });

  const SAME: [string, Files][] = [
    [
      "comments",
      edited("main.agent", "agent a {", "// The agent.\n/* block\n comment */\nagent a { // trailing"),
    ],
    ["blank lines", edited("main.agent", "memory notes", "\n\n\nmemory notes")],
    [
      "formatting",
      edited(
        "tools.agent",
        'tool refund { description: "Refund", input { id: string, amount: number } }',
        'tool   refund{description:"Refund",input{id:string,amount:number}}',
      ),
    ],
    [
      "a deny rule's layout and comments",
      edited(
        "main.agent",
        "deny refund when input.amount > 500",
        "deny refund when (input.amount>500) // too much",
      ),
    ],
    [
      "declaration order",
      {
        ...HASHED,
        "tools.agent": lines(
          'tool refund { description: "Refund", input { id: string, amount: number } }',
          'tool lookup { description: "Look up an order", input { id: string }, output: Order }',
          "type Order { id: string, total: number }",
        ),
      },
    ],
    [
      "moving a declaration to another file",
      {
        "main.agent": HASHED["main.agent"].replace("memory notes { fields { topic?: string } }\n", ""),
        "tools.agent": "memory notes { fields { topic?: string } }\n" + HASHED["tools.agent"],
      },
    ],
    [
      "an unused declaration",
      edited("tools.agent", "type Order", 'tool spare { description: "Unused" }\ntype Order'),
    ],
  ];

  for (const [what, files] of SAME) {
    it(`is unchanged when only ${what} change`, () => {
      const before = base();
      const after = compile(files, "a");
      assert.deepEqual(meaning(after), meaning(before));
      assert.equal(after.hash, before.hash);
    });
  }

  it("leaves out source positions, which do move", () => {
    const before = base();
    const after = compile(SAME[1][1], "a");
    assert.notDeepEqual(after.agents.a.source, before.agents.a.source);
    assert.equal(after.hash, before.hash);
    assert.ok(!canonicalJson(before).includes('"source"'));
    assert.ok(!canonicalJson(before).includes('"hash"'));
    assert.ok(canonicalJson(before, false).includes('"source":{"file":"main.agent","line":9}'));
  });

  const DIFFERENT: [string, Files][] = [
    ["an instruction", edited("main.agent", "Help with orders.", "Help with orders and refunds.")],
    ["a tool's field type", edited("tools.agent", "input { id: string }", "input { id: integer }")],
    ["a declared type's field", edited("tools.agent", "total: number", "total: integer")],
    ["a field becoming optional", edited("tools.agent", "amount: number", "amount?: number")],
    ["a tool description", edited("tools.agent", '"Refund"', '"Refund an order"')],
    ["a memory field", edited("main.agent", "topic?: string", "topic: string")],
    ["a policy limit", edited("main.agent", "max_turns: 10", "max_turns: 11")],
    ["a deny condition", edited("main.agent", "input.amount > 500", "input.amount >= 500")],
    ["a backend model", edited("main.agent", '"gpt-4.1-mini"', '"gpt-4.1"')],
    ["a backend's key variable", edited("main.agent", '"OPENAI_API_KEY"', '"OTHER_KEY"')],
    ["the order of an agent's tools", edited("main.agent", "[lookup, refund]", "[refund, lookup]")],
  ];

  for (const [what, files] of DIFFERENT) {
    it(`changes when ${what} changes`, () => {
      assert.notEqual(compile(files, "a").hash, base().hash);
    });
  }

  it("covers declarations, fields and vars that happen to be called `source` or `hash`", () => {
    const files = (fieldType: string, varValue: string) =>
      project(
        lines(
          `type source { hash: ${fieldType} }`,
          'tool hash { description: "d", input { source: source }, output: source }',
          `memory source { fields { source: ${fieldType} } }`,
        ),
        `  tools: [hash]\n  memory: source\n  vars { hash: "${varValue}", source: "${varValue}" }`,
      );
    const base = compile(files("string", "one"), "a");
    assert.ok(base.tools.hash);
    assert.ok(base.memories.source);
    assert.notEqual(compile(files("integer", "one"), "a").hash, base.hash);
    assert.notEqual(compile(files("string", "two"), "a").hash, base.hash);
    assert.ok(canonicalJson(base).includes('"hash":{"description":"d"'));
  });

  it("canonicalJson sorts keys at every depth and leaves out undefined members", () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [{ f: 1, e: 2 }], c: undefined }, ü: "x", A: null }),
      '{"A":null,"a":{"d":[{"e":2,"f":1}]},"b":1,"ü":"x"}',
    );
    assert.equal(canonicalJson([3, "x", true, null]), '[3,"x",true,null]');
    assert.equal(canonicalJson("s"), '"s"');
    const reversed = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(reversed)
        : v !== null && typeof v === "object"
          ? Object.fromEntries(
              Object.entries(v)
                .reverse()
                .map(([k, x]) => [k, reversed(x)]),
            )
          : v;
    const d = base();
    assert.equal(canonicalJson(reversed(d), false), canonicalJson(d, false));
    assert.equal(canonicalJson(reversed(d)), canonicalJson(d));
    assert.equal(definitionHash(reversed(d) as CompiledDefinition), d.hash);
  });
});

// ---- 4. formatting never changes the compiled form -------------------------------------------------------

/** Spoils the layout of a formatted file: odd indentation, spaces around ':' and ',' outside strings. */
function untidy(text: string): string {
  let inTextBlock = false;
  return text
    .split("\n")
    .map((line) => {
      const wasInTextBlock = inTextBlock;
      if ((line.match(/"""/g) ?? []).length % 2 === 1) inTextBlock = !inTextBlock;
      if (wasInTextBlock) return line;
      const indented = line.replace(/^( +)(?=\S)/, "$1$1\t");
      return indented.includes('"') ? indented : indented.replace(/: /g, " :  ").replace(/, /g, " ,   ");
    })
    .join("\n");
}

function formatAll(files: Files): Files {
  return Object.fromEntries(
    Object.entries(files).map(([name, text]) => {
      if (!name.endsWith(".agent")) return [name, text];
      const result = format(text);
      if ("error" in result) assert.fail(`format refused ${name}: ${result.error}`);
      return [name, result.text];
    }),
  );
}

const MESSY: Files = {
  "main.agent": [
    'import   "lib/tools.agent"',
    'backend   cloud{kind:stateless,provider:openai,model:"gpt-4.1-mini",api_key:env( "K" )}',
    "memory m{",
    "\tscope:user",
    '      fields{ name?:string   "The name" , tags : string[] }',
    "}",
    "agent   a{",
    "backend:cloud",
    '        instructions:"""',
    "          Hello {{vars.who}}.",
    "            Indented.   ",
    '        """',
    '    vars{who:"you" , n : 1_000 , flags:[ true,false ]}',
    "  tools:[ t1 ,t2 ]",
    "    memory:m",
    "  policy{",
    "require_approval:[t2]",
    '    deny t2 when   input.amount>500  and not(input.id=="VIP" or input.id matches"^A")   // why',
    '    deny t1 when (input.id contains  "x")',
    "  max_turns:3",
    "  }",
    "}",
  ].join("\n"),
  "lib/tools.agent": [
    "type  Order{id:string,lines:Line[]}",
    'type Line{  sku : string , qty:integer"How many" }',
    'tool t1{description:"Look up"',
    "  input{id:string}",
    "output:Order",
    'run:http( "get","https://x.example/{{input.id}}" )',
    "}",
    'tool t2 { description : "Refund" , input { id : string , amount : number } , run : command( "node" , [ "r.js" ] ) , timeout_ms : 3_000 }',
  ].join("\n"),
};

describe("compile: formatting never changes the compiled form", () => {
  function assertSameAfterFormat(files: Files, root: string, agents: string[]): void {
    const formatted = formatAll(files);
    assert.ok(
      Object.keys(files).some((name) => formatted[name] !== files[name]),
      "the formatter changed something (otherwise this test proves nothing)",
    );
    for (const agent of agents) {
      const before = compileIn(loadChecked(memoryFs(files), abs(root)), abs(root), agent);
      const after = compileIn(loadChecked(memoryFs(formatted), abs(root)), abs(root), agent);
      assert.equal(canonicalJson(after), canonicalJson(before), `${agent}: the compiled form`);
      assert.equal(after.hash, before.hash, `${agent}: the hash`);
    }
  }

  it("for the example project", () => {
    const files = exampleFiles();
    // The example is already formatted: indent it differently first so that formatting has work to do.
    const messy = Object.fromEntries(Object.entries(files).map(([name, text]) => [name, untidy(text)]));
    assert.ok(
      Object.keys(messy).some((name) => formatAll(messy)[name] !== messy[name]),
      "formatting the untidy copy changes it",
    );
    const docs = { [path.join(EXAMPLE_DIR, "docs/refunds.md")]: "# Refunds\n" };
    for (const set of [files, messy]) {
      const fsOf = (f: Files) => memoryFs({ ...f, ...docs });
      for (const agent of ["support", "billing"]) {
        const before = compileExample(agent, fsOf(set));
        const after = compileExample(agent, fsOf(formatAll(set)));
        assert.equal(canonicalJson(after), canonicalJson(before), `${agent}: the compiled form`);
        assert.equal(after.hash, before.hash);
        assert.equal(
          before.hash,
          compileExample(agent).hash,
          "the in-memory copy compiles like the files on disk",
        );
      }
    }
  });

  it("for a messy fixture", () => {
    assertSameAfterFormat(MESSY, "main.agent", ["a"]);
    const d = compile(formatAll(MESSY), "a");
    assert.equal(
      d.agents.a.policy.deny[0].text,
      'input.amount > 500 and not (input.id == "VIP" or input.id matches "^A")',
    );
    assert.equal(d.agents.a.policy.deny[1].text, 'input.id contains "x"');
    assert.equal(d.agents.a.instructions, "Hello {{vars.who}}.\n  Indented.   ");
    assert.deepEqual(d.agents.a.vars, { who: "you", n: 1000, flags: [true, false] });
  });

  it("for the shape fixture and the hash fixture", () => {
    assertSameAfterFormat(
      { ...SHAPE, "agents.agent": SHAPE["agents.agent"].replace(/^ {2}/gm, "\t  ").replace(/, /g, " ,  ") },
      "main.agent",
      ["front", "back", "unrelated"],
    );
    assertSameAfterFormat(
      { ...HASHED, "main.agent": HASHED["main.agent"].replace(/^ +/gm, "") },
      "main.agent",
      ["a"],
    );
  });
});

// ---- 5. unknown agents ----------------------------------------------------------------------------------

describe("compile: an unknown agent", () => {
  it("returns a message naming the available agents", () => {
    const program = loadChecked(nodeFileSystem(), EXAMPLE_MAIN);
    const result = compileAgent(program, EXAMPLE_MAIN, "suport");
    assert.ok(isCompileError(result));
    assert.ok(!("hash" in result));
    assert.match(result.message, /suport/);
    assert.match(result.message, /\bsupport\b/);
    assert.match(result.message, /\bbilling\b/);
  });

  it("says so when there is no agent at all", () => {
    const files = { "main.agent": "type T { x: string }\n" };
    const program = new Program(memoryFs(files));
    program.load(abs("main.agent"));
    const result = compileAgent(program, abs("main.agent"), "a");
    assert.ok(isCompileError(result));
    assert.match(result.message, /No agent 'a'/);
  });

  it("does not count an agent of a file the root does not import", () => {
    const files = {
      "main.agent": 'agent a { instructions: "x" }\n',
      "other.agent": 'agent b { instructions: "y" }\n',
    };
    const program = new Program(memoryFs(files));
    program.load(abs("main.agent"));
    program.load(abs("other.agent"));
    const result = compileAgent(program, abs("main.agent"), "b");
    assert.ok(isCompileError(result));
    assert.match(result.message, /agents: a\b/);
    assert.ok(!isCompileError(compileAgent(program, abs("other.agent"), "b")));
  });
});

// ---- connections (connections.md) ---------------------------------------------------------------

const CONNECTIONS = [
  "connection crm {",
  '  url: "https://crm.example.com/api/v2"',
  "  auth: oauth2 {",
  '    token_url: "https://login.example.com/oauth2/token"',
  '    client_id: env("CRM_CLIENT_ID")',
  '    client_secret: env("CRM_CLIENT_SECRET")',
  '    scopes: ["crm.read", "crm.write"]',
  "  }",
  '  headers { "X-Tenant": "acme", "X-Region": env("CRM_REGION") }',
  "  timeout_ms: 5000",
  "}",
  'connection billing { url: "http://billing.internal:8080" auth: bearer(env("BILLING_TOKEN")) }',
  'connection legacy { url: "https://legacy.example.com" auth: header("X-Api-Key", env("LEGACY_KEY")) }',
  'connection old { url: "https://old.example.com" auth: basic(env("OLD_USER"), env("OLD_PASSWORD")) }',
  'connection mail { url: "https://graph.example.com/v1" auth: user_token("mail") }',
  'connection warehouse { url: env("WAREHOUSE_URL") }',
  'connection unused { url: "https://unused.example.com" }',
  'tool find { description: "d", input { email: string }, run: http("GET", crm, "/customers?email={{input.email}}") }',
  'tool bill { description: "d", run: http("POST", billing, "/invoices") }',
  'tool leg { description: "d", run: http("GET", legacy, "/x") }',
  'tool oldie { description: "d", run: http("GET", old, "/x") }',
  'tool inbox { description: "d", run: http("GET", mail, "/me/messages") }',
  "tool orders {",
  '  description: "d"',
  "  input { customer_id: string }",
  '  run: sql(warehouse, "select id from orders where customer_id = $1 and owner = $2 and n > $3", [input.customer_id, user.id, 3])',
  "  max_rows: 20",
  "}",
  'tool close { description: "d", input { id: string }, run: sql(warehouse, "update orders set closed = true where id = $1", [input.id]), write: true }',
  'tool plain { description: "d", run: http("GET", "https://example.com/x") }',
  'context accounts { from: sql(warehouse, "select name from accounts where owner = $1", [user.id]) }',
  "agent a {",
  '  instructions: "hi"',
  "  tools: [find, bill, leg, oldie, inbox, orders, close, plain]",
  "  context: [accounts]",
  "}",
  'agent without { instructions: "hi", tools: [plain] }',
].join("\n");

describe("compile: connections", () => {
  const def = () => compile({ "main.agent": CONNECTIONS }, "a");

  it("compiles each auth kind, the url, headers and timeout of the connections the agent uses", () => {
    const c = def().connections!;
    assert.deepEqual(Object.keys(c).sort(), ["billing", "crm", "legacy", "mail", "old", "warehouse"]);
    const { source, ...crm } = c.crm;
    assert.deepEqual(source, { file: "main.agent", line: 1 });
    assert.deepEqual(crm, {
      name: "crm",
      url: "https://crm.example.com/api/v2",
      auth: {
        kind: "oauth2",
        tokenUrl: "https://login.example.com/oauth2/token",
        clientId: { env: "CRM_CLIENT_ID" },
        clientSecret: { env: "CRM_CLIENT_SECRET" },
        scopes: ["crm.read", "crm.write"],
      },
      headers: { "X-Tenant": "acme", "X-Region": { env: "CRM_REGION" } },
      timeoutMs: 5000,
    });
    assert.deepEqual(c.billing.auth, { kind: "bearer", token: { env: "BILLING_TOKEN" } });
    assert.deepEqual(c.legacy.auth, { kind: "header", name: "X-Api-Key", value: { env: "LEGACY_KEY" } });
    assert.deepEqual(c.old.auth, {
      kind: "basic",
      username: { env: "OLD_USER" },
      password: { env: "OLD_PASSWORD" },
    });
    assert.deepEqual(c.mail.auth, { kind: "user_token", name: "mail" });
    assert.deepEqual(c.warehouse.url, { env: "WAREHOUSE_URL" });
    assert.ok(!("auth" in c.warehouse), "no auth: no auth key");
  });

  it("compiles http through a connection, sql with its parameters, write and max_rows", () => {
    const d = def();
    assert.deepEqual(d.tools.find.run, {
      kind: "http",
      method: "GET",
      url: "/customers?email={{input.email}}",
      connection: "crm",
    });
    assert.deepEqual(d.tools.plain.run, { kind: "http", method: "GET", url: "https://example.com/x" });
    assert.deepEqual(d.tools.orders.run, {
      kind: "sql",
      connection: "warehouse",
      statement: "select id from orders where customer_id = $1 and owner = $2 and n > $3",
      params: [{ path: ["input", "customer_id"] }, { path: ["user", "id"] }, { value: 3 }],
    });
    assert.equal(d.tools.orders.maxRows, 20);
    assert.ok(!("write" in d.tools.orders), "write only when true");
    assert.equal(d.tools.close.write, true);
    assert.ok(!("maxRows" in d.tools.close), "maxRows only when declared");
    assert.deepEqual(d.contexts.accounts.from, {
      kind: "sql",
      connection: "warehouse",
      statement: "select name from accounts where owner = $1",
      params: [{ path: ["user", "id"] }],
    });
  });

  it("leaves `connections` out of a definition that uses none, so recorded definitions keep their hash", () => {
    const without = compile({ "main.agent": CONNECTIONS }, "without");
    assert.ok(!("connections" in without));
    // A session recorded before connections existed pins the definition it ran and its hash.
    const ws = path.join(REPO, "test/editor/fixtures/workspace");
    const log = path.join(ws, ".statecraft/sessions/20261126-054358-2de7c7.jsonl");
    const start = JSON.parse(fs.readFileSync(log, "utf8").split("\n")[0]) as { hash: string; agent: string };
    const main = path.join(ws, "main.agent");
    const now = compileIn(loadChecked(nodeFileSystem(), main), main, start.agent);
    assert.ok(!("connections" in now));
    assert.equal(now.hash, start.hash);
  });

  it("hashes what a connection does, not where it is written", () => {
    const base = def().hash;
    const changed = (from: string, to: string) => {
      assert.ok(CONNECTIONS.includes(from), from);
      return compile({ "main.agent": CONNECTIONS.replace(from, to) }, "a").hash;
    };
    assert.notEqual(changed("https://crm.example.com/api/v2", "https://crm.example.com/api/v3"), base);
    assert.notEqual(changed('user_token("mail")', 'user_token("outlook")'), base);
    assert.notEqual(changed('"crm.write"]', '"crm.admin"]'), base);
    assert.equal(changed("connection crm {", "\n\nconnection crm {"), base, "moving lines keeps the hash");
  });
});
