// Turns an `.agent` file into something runnable: loads and validates it
// (errors stop the run with the same diagnostics the editor shows), compiles
// the agent, and applies a backend chosen on the command line.

import * as path from "node:path";
import {
  compileAgent,
  compileBackend,
  definitionHash,
  isCompileError,
  IMPLICIT_BACKEND,
  type CompiledBackend,
  type CompiledDefinition,
} from "../language/compile";
import type { Diagnostic } from "../language/diagnostics";
import { Program } from "../language/program";
import { checkFiles } from "../language/validate";
import { nodeFileSystem } from "../language/nodeFileSystem";

/** A run that cannot start: a bad spec (with diagnostics) or a bad request. */
export class RunError extends Error {
  constructor(
    message: string,
    readonly diagnostics: Diagnostic[] = [],
    readonly program?: Program,
  ) {
    super(message);
  }
}

export interface LoadedProgram {
  program: Program;
  root: string;
}

export function loadChecked(file: string): LoadedProgram {
  const root = path.resolve(file);
  const program = new Program(nodeFileSystem());
  if (!program.load(root)) throw new RunError(`cannot read ${file}`);
  const errors = checkFiles(program, [root]).filter((d) => d.severity === "error");
  if (errors.length)
    throw new RunError(
      `${file} has ${errors.length} error${errors.length === 1 ? "" : "s"}`,
      errors,
      program,
    );
  return { program, root };
}

/** The agents declared in the file and its imports. */
export function agentNames(loaded: LoadedProgram): string[] {
  return loaded.program
    .symbols(loaded.root)
    .ofKind("agent")
    .map((s) => s.name);
}

export function compileFor(
  loaded: LoadedProgram,
  agent: string | undefined,
  backend?: string,
): CompiledDefinition {
  const names = agentNames(loaded);
  const chosen = agent ?? (names.length === 1 ? names[0] : undefined);
  if (!chosen)
    throw new RunError(
      names.length
        ? `--agent is required: the file declares ${names.join(", ")}`
        : `no agent is declared in ${loaded.root} or its imports`,
    );
  const def = compileAgent(loaded.program, loaded.root, chosen);
  if (isCompileError(def)) throw new RunError(def.message);
  return backend ? withBackend(loaded, def, backend) : def;
}

/** A declared backend by name, or the built-in local one for `local` when none is declared so. */
export function backendSpec(loaded: LoadedProgram, backend: string): CompiledBackend {
  const table = loaded.program.symbols(loaded.root);
  const sym = table.lookup("backend", backend);
  const spec = sym ? compileBackend(sym.decl) : backend === "local" ? { ...IMPLICIT_BACKEND } : undefined;
  if (!spec) {
    const declared = table.ofKind("backend").map((s) => s.name);
    throw new RunError(
      `no backend '${backend}'; declared backends: ${declared.length ? declared.join(", ") : "none"} (or local)`,
    );
  }
  return spec;
}

/** Runs every agent of the definition on another declared backend (`--backend NAME`). */
export function withBackend(
  loaded: LoadedProgram,
  def: CompiledDefinition,
  backend: string,
): CompiledDefinition {
  const spec = backendSpec(loaded, backend);
  const agents = Object.fromEntries(
    Object.entries(def.agents).map(([n, a]) => [n, { ...a, backend: spec.name }]),
  );
  const next: Omit<CompiledDefinition, "hash"> = { ...def, agents, backends: { [spec.name]: spec } };
  delete (next as Partial<CompiledDefinition>).hash;
  return { ...next, hash: definitionHash(next) };
}
