// The syntax tree of `.agent` files. Plain data: every node carries its
// source span (UTF-16 offsets into the file text) so that every later stage
// can anchor diagnostics, hovers and edits on the smallest node that matters.

export interface Span {
  start: number;
  end: number;
}

export type DeclarationKind =
  "backend" | "type" | "tool" | "context" | "memory" | "agent" | "mcp" | "connection" | "test" | "eval";

export const DECLARATION_KINDS: readonly DeclarationKind[] = [
  "backend",
  "type",
  "tool",
  "context",
  "memory",
  "agent",
  "mcp",
  "connection",
  "test",
  "eval",
];

export interface Identifier extends Span {
  type: "Identifier";
  name: string;
}

/** A `{{ path }}` inside a string or text block; `path` spans the dotted name only. */
export interface TemplateRef extends Span {
  path: string[];
  /** Span of each path segment, for completion and precise diagnostics. */
  segments: Span[];
}

export interface StringLiteral extends Span {
  type: "String";
  /** The value with escapes applied (and, for text blocks, indentation trimmed). */
  value: string;
  textBlock: boolean;
  /** The value in template form: `\\` and `\{{` stay escaped so literal braces survive rendering. */
  template: string;
  templates: TemplateRef[];
  /** False when the closing quote is missing (an `unterminated-string` was reported). */
  terminated: boolean;
}

export interface NumberLiteral extends Span {
  type: "Number";
  value: number;
  raw: string;
  isInteger: boolean;
}

export interface BooleanLiteral extends Span {
  type: "Boolean";
  value: boolean;
}

export interface NullLiteral extends Span {
  type: "Null";
}

/** `name` or `name.member.member`: a declaration, a member of one, or an enum word. */
export interface Reference extends Span {
  type: "Reference";
  segments: Identifier[];
}

export interface ListValue extends Span {
  type: "List";
  items: Value[];
}

export interface ObjectEntry extends Span {
  key: Identifier;
  value: Value;
}

export interface ObjectValue extends Span {
  type: "Object";
  entries: ObjectEntry[];
}

export interface CallValue extends Span {
  type: "Call";
  callee: Identifier;
  args: Value[];
  /** Span between the parentheses, used by signature help. */
  argsSpan: Span;
  /** Written `name { ... }` (`oauth2 { token_url: ... }`): the one argument is that object, `argsSpan` its inside. */
  braces?: true;
}

/** Placeholder where a value was expected but could not be parsed (a `syntax` error was reported). */
export interface MissingValue extends Span {
  type: "Missing";
}

export type Value =
  | StringLiteral
  | NumberLiteral
  | BooleanLiteral
  | NullLiteral
  | Reference
  | ListValue
  | ObjectValue
  | CallValue
  | MissingValue;

// ---- members -------------------------------------------------------------

export interface Property extends Span {
  type: "Property";
  name: Identifier;
  value: Value;
}

export interface BlockMember extends Span {
  type: "BlockMember";
  name: Identifier;
  body: Block;
}

/** A field type: `string`, `Order`, `enum("a", "b")`, `LineItem[]`. */
export interface TypeExpr extends Span {
  name: Identifier;
  /** Arguments of `enum(...)`. */
  enumValues?: StringLiteral[];
  list: boolean;
}

/** `name[?]: TYPE ["description"]` inside `type`, `input { }` and `fields { }`. */
export interface FieldDecl extends Span {
  type: "Field";
  name: Identifier;
  optional: boolean;
  fieldType: TypeExpr;
  description?: StringLiteral;
}

// ---- policy expressions ---------------------------------------------------

export type CompareOp = "==" | "!=" | "<" | "<=" | ">" | ">=" | "contains" | "matches";

export interface BinaryExpr extends Span {
  type: "Binary";
  op: CompareOp | "and" | "or";
  opSpan: Span;
  left: Expr;
  right: Expr;
}

export interface NotExpr extends Span {
  type: "Not";
  operand: Expr;
}

/** A literal, a path such as `input.amount`, or a list in an expression. */
export interface ValueExpr extends Span {
  type: "ValueExpr";
  value: Value;
}

export type Expr = BinaryExpr | NotExpr | ValueExpr;

/** `deny TOOL when EXPR` inside `policy { }`. */
export interface DenyRule extends Span {
  type: "Deny";
  keyword: Identifier;
  tool: Reference;
  condition: Expr | undefined;
}

// ---- test steps -----------------------------------------------------------

interface StepBase extends Span {
  type: "Step";
  keyword: Identifier;
}

export interface SendStep extends StepBase {
  step: "send";
  text: StringLiteral;
}
export interface ModelRepliesStep extends StepBase {
  step: "model.replies";
  text: StringLiteral;
}
export interface ModelCallsStep extends StepBase {
  step: "model.calls";
  tool: Reference;
  input: ObjectValue;
}
export interface ModelHandsOffStep extends StepBase {
  step: "model.hands_off";
  agent: Reference;
}
export interface ToolReturnsStep extends StepBase {
  step: "tool.returns";
  tool: Reference;
  value: Value;
}
export interface ToolFailsStep extends StepBase {
  step: "tool.fails";
  tool: Reference;
  message: StringLiteral;
}
export interface ApprovalStep extends StepBase {
  step: "approve" | "reject";
  tool: Reference;
}
export interface ExpectReplyStep extends StepBase {
  step: "expect.reply";
  op: "contains" | "matches";
  text: StringLiteral;
}
export interface ExpectToolStep extends StepBase {
  step: "expect.tool";
  tool: Reference;
  outcome: "called" | "not_called" | "denied";
  with?: ObjectValue;
}
export interface ExpectHandoffStep extends StepBase {
  step: "expect.handoff";
  agent: Reference;
}
export interface ExpectMemoryStep extends StepBase {
  step: "expect.memory";
  /** `memory.open_tickets`: the full reference, first segment `memory`. */
  path: Reference;
  op: CompareOp;
  opSpan: Span;
  value: Value;
}
export interface ExpectUsageStep extends StepBase {
  step: "expect.tokens" | "expect.turns";
  op: CompareOp;
  opSpan: Span;
  value: Value;
}

export type TestStep =
  | SendStep
  | ModelRepliesStep
  | ModelCallsStep
  | ModelHandsOffStep
  | ToolReturnsStep
  | ToolFailsStep
  | ApprovalStep
  | ExpectReplyStep
  | ExpectToolStep
  | ExpectHandoffStep
  | ExpectMemoryStep
  | ExpectUsageStep;

// ---- eval steps and criteria (evals.md section 1) --------------------------

/** The modes of `expect trajectory [...] MODE`; the first is the default. */
export const TRAJECTORY_MODES = ["in_order", "exact", "any_order"] as const;
export type TrajectoryMode = (typeof TRAJECTORY_MODES)[number];

/** `at_least N` after a judge or score criterion. */
export interface AtLeast extends Span {
  keyword: Identifier;
  value: NumberLiteral;
}
/** `expect trajectory [a, b] [in_order|exact|any_order]`. */
export interface ExpectTrajectoryStep extends StepBase {
  step: "expect.trajectory";
  tools: ListValue;
  mode?: Identifier;
}
/** `judge "criterion" [at_least N]`, or `judge NAME [at_least N]` with a built-in judge's name. */
export interface JudgeStep extends StepBase {
  step: "judge";
  criterion: StringLiteral | Identifier;
  atLeast?: AtLeast;
}
/** `score command("node", ["scorer.js"]) [at_least N]`. */
export interface ScoreStep extends StepBase {
  step: "score";
  command: CallValue;
  atLeast?: AtLeast;
}
/** `judge scores 0.8 "reason"`: a scripted answer of a local judge. */
export interface JudgeScoresStep extends StepBase {
  step: "judge.scores";
  verb: Identifier;
  score: NumberLiteral;
  reason: StringLiteral;
}
/** `user says "..."`: the next message of a simulated user on a local backend. */
export interface UserSaysStep extends StepBase {
  step: "user.says";
  verb: Identifier;
  text: StringLiteral;
}
/** `expected "answer"` and `goal "what the user wants"`. */
export interface CaseTextStep extends StepBase {
  step: "expected" | "goal";
  text: StringLiteral;
}

export type EvalStep =
  ExpectTrajectoryStep | JudgeStep | ScoreStep | JudgeScoresStep | UserSaysStep | CaseTextStep;

/** A step of a test, or of an eval case (which takes the eval steps too). */
export type Step = TestStep | EvalStep;

/** `case "name" { ... }` inside an eval. */
export interface CaseBlock extends Span {
  type: "Case";
  keyword: Identifier;
  /** Undefined when missing (a syntax error was reported). */
  name: StringLiteral | undefined;
  body: Block;
}

export type Member = Property | BlockMember | FieldDecl | DenyRule | Step | CaseBlock;

/** `eval`: an eval's body (properties, judge criteria, cases); `case`: a case's body (test and eval steps). */
export type BlockMode = "members" | "fields" | "policy" | "test" | "eval" | "case";

export interface Block extends Span {
  mode: BlockMode;
  members: Member[];
  /** False when the closing brace is missing. */
  closed: boolean;
}

// ---- files ----------------------------------------------------------------

export interface Import extends Span {
  type: "Import";
  keyword: Identifier;
  path: StringLiteral;
}

export interface Declaration extends Span {
  type: "Declaration";
  kind: DeclarationKind;
  keyword: Identifier;
  /** An identifier, or a string for tests; undefined when missing (a syntax error was reported). */
  name: Identifier | StringLiteral | undefined;
  body: Block;
}

export interface Comment extends Span {
  text: string;
  block: boolean;
}

export interface SourceFile {
  /** Normalised absolute path (or URI-like key) of the file. */
  path: string;
  text: string;
  imports: Import[];
  declarations: Declaration[];
  comments: Comment[];
}

export function declarationName(d: Declaration): string | undefined {
  if (!d.name) return undefined;
  return d.name.type === "Identifier" ? d.name.name : d.name.value;
}

export function referenceText(r: Reference): string {
  return r.segments.map((s) => s.name).join(".");
}
