// A reader of server-sent events (text/event-stream), as the runtime service
// streams a turn: any chunking, LF, CRLF or CR line ends, comments skipped,
// a message cut before its blank line never dispatched.

export interface SseMessage {
  event: string;
  data: string;
  id?: string;
}

/** Parses a text/event-stream body (any chunking, LF or CRLF). */
export async function* parseSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder();
  let buffer = "";
  let event = "";
  let id: string | undefined;
  let data: string[] = [];
  const line = (l: string): SseMessage | undefined => {
    if (l === "") {
      if (!data.length && !event) return undefined;
      const m = { event: event || "message", data: data.join("\n"), id };
      event = "";
      data = [];
      id = undefined;
      return m;
    }
    if (l.startsWith(":")) return undefined;
    const colon = l.indexOf(":");
    const field = colon < 0 ? l : l.slice(0, colon);
    let value = colon < 0 ? "" : l.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
    else if (field === "id") id = value;
    return undefined;
  };
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffer.search(/\r\n|\n|\r/)) >= 0) {
      // A lone \r at the very end may be the first half of \r\n: wait for more.
      if (buffer[nl] === "\r" && nl === buffer.length - 1) break;
      const l = buffer.slice(0, nl);
      buffer = buffer.slice(nl + (buffer.startsWith("\r\n", nl) ? 2 : 1));
      const m = line(l);
      if (m) yield m;
    }
  }
  // A message without its blank line was cut: it is not dispatched.
}
