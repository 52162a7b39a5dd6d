// `statecraft check --connect`: each `sql(CONNECTION, "statement", ...)` of a
// tool or context is prepared against its connection's database (parsed and
// planned, tables and columns resolved, never executed), and what the database
// refuses is reported at the statement's string, at the character it points
// to. Never done by default: it reaches real databases with real credentials.

import * as path from "node:path";
import { props } from "../language/compile";
import { connectionOfCall } from "../language/connections";
import { LineIndex } from "../language/lineIndex";
import type { Program } from "../language/program";
import { prepareStatement, isSqlUrl, openSqlDatabase, SqlFailure, type SqlDatabase } from "../runtime/sql";
import type { Environment } from "../runtime/secrets";
import type { CheckDiagnostic } from "../protocol/cli";
import { displayPath } from "./files";

/**
 * The code of a statement the database refuses, and of a connection --connect cannot reach. Not a
 * language diagnostic: only --connect, with a database at hand, can find it.
 */
export const SQL_PREPARE_CODE = "sql-prepare";

interface Statement {
  file: string;
  /** The sql(...) call's statement string. */
  span: { start: number; end: number };
  /** Offset of the statement's first character in the file, when the literal holds it verbatim. */
  verbatimAt: number | undefined;
  text: string;
  connection: {
    name: string;
    url: string | { env: string };
    file: string;
    at: { start: number; end: number };
  };
}

function statements(program: Program, files: string[]): Statement[] {
  const out: Statement[] = [];
  const seen = new Set<string>();
  for (const root of files)
    for (const file of program.closure(root)) {
      if (seen.has(file)) continue;
      seen.add(file);
      const pf = program.get(file);
      if (!pf) continue;
      const table = program.symbols(file);
      for (const decl of pf.file.declarations) {
        if (decl.kind !== "tool" && decl.kind !== "context") continue;
        const call = props(decl.body).get(decl.kind === "tool" ? "run" : "from")?.value;
        if (call?.type !== "Call" || call.callee.name !== "sql") continue;
        const stmt = call.args[1];
        const conn = connectionOfCall(table, call);
        if (stmt?.type !== "String" || !conn) continue;
        const url = props(conn.decl.body).get("url")?.value;
        const urlValue =
          url?.type === "String"
            ? url.value
            : url?.type === "Call" && url.callee.name === "env" && url.args[0]?.type === "String"
              ? { env: url.args[0].value }
              : undefined;
        if (urlValue === undefined) continue;
        const raw = pf.file.text.slice(stmt.start + 1, stmt.end - 1);
        out.push({
          file,
          span: { start: stmt.start, end: stmt.end },
          verbatimAt: !stmt.textBlock && raw === stmt.value ? stmt.start + 1 : undefined,
          text: stmt.value,
          connection: {
            name: conn.name,
            url: urlValue,
            file: conn.path,
            at: { start: conn.decl.start, end: conn.decl.end },
          },
        });
      }
    }
  return out;
}

/** Prepares every SQL statement of `files` (and their imports) against its connection's database. */
export async function connectDiagnostics(
  program: Program,
  files: string[],
  env: Environment,
  cwd: string,
): Promise<CheckDiagnostic[]> {
  const found = statements(program, files);
  const out: CheckDiagnostic[] = [];
  const databases = new Map<string, Promise<SqlDatabase>>();
  const problem = (file: string, span: { start: number; end: number }, message: string): CheckDiagnostic => {
    const idx = LineIndex.of(program.get(file)?.file.text ?? "");
    const s = idx.position(span.start);
    const e = idx.position(span.end);
    return {
      path: displayPath(file, cwd),
      line: s.line + 1,
      column: s.character + 1,
      endLine: e.line + 1,
      endColumn: e.character + 1,
      severity: "error",
      code: SQL_PREPARE_CODE,
      message,
    };
  };
  try {
    for (const s of found) {
      const c = s.connection;
      const url = typeof c.url === "string" ? c.url : env[c.url.env];
      if (url === undefined || url === "") {
        out.push(
          problem(
            s.file,
            s.span,
            `connection '${c.name}' reads its url from ${(c.url as { env: string }).env}, which is not set: --connect cannot reach its database`,
          ),
        );
        continue;
      }
      if (!isSqlUrl(url)) continue;
      const key = `${path.dirname(c.file)}\n${url}`;
      let db = databases.get(key);
      if (!db) databases.set(key, (db = openSqlDatabase(url, path.dirname(c.file))));
      let opened: SqlDatabase;
      try {
        opened = await db;
      } catch (err) {
        out.push(
          problem(
            s.file,
            s.span,
            `cannot open the database of connection '${c.name}': ${(err as Error).message}`,
          ),
        );
        continue;
      }
      try {
        await prepareStatement(opened, s.text);
      } catch (err) {
        // A SQLSTATE (five characters) is the database's answer; anything else (ECONNREFUSED...) is the way there.
        const e = err instanceof SqlFailure && /^[0-9A-Z]{5}$/.test(err.code ?? "") ? err : undefined;
        if (!e) {
          out.push(
            problem(
              s.file,
              s.span,
              `cannot reach the database of connection '${c.name}': ${(err as Error).message}`,
            ),
          );
          continue;
        }
        // At the character the database points to, when the literal holds the statement verbatim.
        const at =
          e.position !== undefined && s.verbatimAt !== undefined ? s.verbatimAt + e.position - 1 : undefined;
        out.push(
          problem(
            s.file,
            at !== undefined ? { start: at, end: at + 1 } : s.span,
            `the statement does not prepare on connection '${c.name}': ${e.message}`,
          ),
        );
      }
    }
  } finally {
    await Promise.all([...databases.values()].map((d) => d.then((db) => db.close()).catch(() => {})));
  }
  return out;
}
