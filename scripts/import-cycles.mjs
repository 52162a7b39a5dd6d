// Fails when the modules under server/ and client/src/ import each other in a
// cycle (architecture.md: no import cycles). Run by `npm run lint`.
//   node scripts/import-cycles.mjs           exit 1 listing each cycle
//   node scripts/import-cycles.mjs --edges   print every cross-folder import
// Every import counts, type-only ones too: a cycle of types is still two
// modules that cannot be read, moved or tested one without the other.
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";

const root = path.resolve(import.meta.dirname, "..");
const roots = ["server", "client/src"].map((r) => path.join(root, r));

function walk(dir, out) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(p, out);
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/** Resolves a relative specifier the way the bundler does (file.ts, dir/index.ts). */
function resolve(from, spec) {
  if (!spec.startsWith(".")) return undefined;
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [base, `${base}.ts`, path.join(base, "index.ts")])
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  return undefined;
}

const files = roots.flatMap((r) => walk(r, []));
const graph = new Map();
for (const file of files) {
  const info = ts.preProcessFile(fs.readFileSync(file, "utf8"), true, true);
  const targets = new Set();
  for (const ref of info.importedFiles) {
    const target = resolve(file, ref.fileName);
    if (target) targets.add(target);
  }
  graph.set(file, [...targets].sort());
}

const rel = (f) => path.relative(root, f);

if (process.argv.includes("--edges")) {
  for (const [from, tos] of graph)
    for (const to of tos)
      if (path.dirname(from) !== path.dirname(to)) console.log(`${rel(from)} -> ${rel(to)}`);
  process.exit(0);
}

// Tarjan's strongly connected components: every component of more than one
// module (or a module importing itself) is a cycle.
let index = 0;
const stack = [];
const state = new Map();
const components = [];
function connect(v) {
  const s = { index, low: index, onStack: true };
  index++;
  state.set(v, s);
  stack.push(v);
  for (const w of graph.get(v) ?? []) {
    const t = state.get(w);
    if (!t) {
      connect(w);
      s.low = Math.min(s.low, state.get(w).low);
    } else if (t.onStack) s.low = Math.min(s.low, t.index);
  }
  if (s.low === s.index) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      state.get(w).onStack = false;
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(component);
  }
}
for (const v of graph.keys()) if (!state.has(v)) connect(v);

/** One shortest path around the component, starting from its first module. */
function cycleIn(component) {
  const members = new Set(component);
  const start = component.slice().sort()[0];
  const previous = new Map([[start, undefined]]);
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift();
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const pathBack = [v];
        for (let p = previous.get(v); p !== undefined; p = previous.get(p)) pathBack.push(p);
        return [...pathBack.reverse(), start];
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

if (components.length === 0) {
  console.log(`import-cycles: ${files.length} modules, no import cycle`);
  process.exit(0);
}
for (const component of components) {
  console.error(
    `import cycle among ${component.length} modules, for one: ${cycleIn(component).map(rel).join(" -> ")}`,
  );
}
console.error(`import-cycles: ${components.length} cycle(s); architecture.md allows none`);
process.exit(1);
