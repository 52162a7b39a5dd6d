// Names the engine gives the model's built-in tools, shared by whoever reads
// a session's tool calls.

/**
 * The built-in tool through which the model writes its agent's memory. Written by the engine
 * (runtime/engine.ts: it offers the tool and applies its calls); read by the validator (a test may
 * name it), the debugger (a pending `remember` call edits memory), and the Session Explorer's
 * export as test (client/src/sessions/exportTest.ts, which checks its copy against this type).
 */
export const MEMORY_TOOL = "remember";

/**
 * The prefix of the tool the model calls to hand off to another agent (`transfer_to_<agent>`).
 * Written by the engine (one such tool per handoff target) and the local scripted model; read by
 * the engine, `statecraft replay` and the Session Explorer's export as test.
 */
export const HANDOFF_PREFIX = "transfer_to_";
