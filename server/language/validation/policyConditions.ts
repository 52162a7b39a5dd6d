// Checks of the conditions of policy rules (`deny TOOL when ...`): they read
// the tool's input as input.FIELD, compared with values of the field's type,
// with operators that fit it and regular expressions that compile.

import { referenceText, type Expr, type FieldDecl, type Value } from "../ast";
import { nearest } from "../editDistance";
import type { Symbol } from "../program";
import type { Checker } from "./checker";
import { fieldKind, literalFits, regexProblem, toolInputFields, typeExprText, valueKind } from "./values";

/** Checks a policy condition: it reads the tool's input as input.FIELD, compared with values of the field's type. */
export function checkCondition(c: Checker, e: Expr, tool: Symbol | undefined): void {
  const inputFields = toolInputFields(tool);
  const fieldOf = (v: Value): FieldDecl | undefined => {
    if (v.type !== "Reference") return undefined;
    const [root, field] = v.segments;
    if (["true", "false", "null"].includes(root.name) && v.segments.length === 1) return undefined;
    if (root.name !== "input") {
      c.report(
        v,
        "unknown-reference",
        `Conditions read the tool's input: write input.FIELD${inputFields.length ? `, e.g. input.${inputFields[0].name.name}` : ""}; found '${referenceText(v)}'.`,
      );
      return undefined;
    }
    if (!field) {
      c.report(
        v,
        "unknown-tool-input",
        `Name a field of the input, e.g. input.${inputFields[0]?.name.name ?? "amount"}.`,
      );
      return undefined;
    }
    if (!tool) return undefined;
    const f = inputFields.find((x) => x.name.name === field.name);
    if (!f) {
      const near = nearest(
        field.name,
        inputFields.map((x) => x.name.name),
      );
      c.report(
        field,
        "unknown-tool-input",
        `Tool '${tool.name}' has no input field '${field.name}'${near ? `: did you mean '${near}'?` : inputFields.length ? `; its fields are ${inputFields.map((x) => x.name.name).join(", ")}.` : "; it takes no input."}`,
        near ? c.replaceFix(`Change to '${near}'`, near) : {},
      );
    }
    return f;
  };
  const walk = (x: Expr): void => {
    if (x.type === "Not") return walk(x.operand);
    if (x.type === "ValueExpr") {
      fieldOf(x.value);
      return;
    }
    if (x.op === "and" || x.op === "or") {
      walk(x.left);
      walk(x.right);
      return;
    }
    const lf = x.left.type === "ValueExpr" ? fieldOf(x.left.value) : (walk(x.left), undefined);
    const rf = x.right.type === "ValueExpr" ? fieldOf(x.right.value) : (walk(x.right), undefined);
    const [f, lit] = lf ? [lf, x.right] : rf ? [rf, x.left] : [undefined, undefined];
    if (!f || !lit || lit.type !== "ValueExpr") return;
    const k = fieldKind(f);
    const litValue = lit.value;
    if (litValue.type === "Reference") return;
    let problem: string | undefined;
    if (x.op === "contains") {
      if (!k.list && k.kind !== "string" && k.kind !== "json")
        problem = `'contains' needs a string or list field; input.${f.name.name} is ${f.fieldType.name.name}`;
    } else if (x.op === "matches") {
      if (k.kind !== "string" && k.kind !== "enum")
        problem = `'matches' needs a string field; input.${f.name.name} is ${f.fieldType.name.name}`;
      else if (litValue.type !== "String") problem = `'matches' takes a regular expression as a string`;
      else {
        try {
          new RegExp(litValue.value);
        } catch (err) {
          c.report(litValue, "type-mismatch", `${regexProblem(err)}.`);
          return;
        }
      }
    } else if (["<", "<=", ">", ">="].includes(x.op)) {
      if (k.list || (k.kind !== "number" && k.kind !== "integer"))
        problem = `'${x.op}' compares numbers; input.${f.name.name} is ${typeExprText(f.fieldType)}`;
      else if (litValue.type !== "Number")
        problem = `input.${f.name.name} is a number; compared with ${valueKind(litValue)}`;
    } else {
      const expected = literalFits(litValue, k);
      if (expected)
        problem = `input.${f.name.name} is ${typeExprText(f.fieldType)}; compared with ${valueKind(litValue)} (expected ${expected})`;
    }
    if (problem) c.report(litValue, "unknown-tool-input", `${problem}.`);
  };
  walk(e);
}
