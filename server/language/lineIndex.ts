// Converts between UTF-16 offsets (what the AST stores) and 0-based
// line/character positions (what LSP and, +1, the CLI show).

export interface Position {
  line: number;
  character: number;
}

export class LineIndex {
  private readonly starts: number[];
  private static recent: LineIndex[] = [];

  /**
   * The index of a text, shared by the callers that place many offsets in the same few texts (a
   * diagnostic each): building one per offset made reporting N diagnostics of a file O(N * size).
   */
  static of(text: string): LineIndex {
    const hit = LineIndex.recent.find((idx) => idx.text === text);
    if (hit) return hit;
    const idx = new LineIndex(text);
    LineIndex.recent = [idx, ...LineIndex.recent.slice(0, 3)];
    return idx;
  }

  constructor(private readonly text: string) {
    const starts = [0];
    for (let i = 0; i < text.length; i++) {
      if (text.charCodeAt(i) === 10) starts.push(i + 1);
    }
    this.starts = starts;
  }

  get lineCount(): number {
    return this.starts.length;
  }

  position(offset: number): Position {
    const o = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= o) lo = mid;
      else hi = mid - 1;
    }
    let character = o - this.starts[lo];
    // A `\r\n` line ending: the `\r` belongs to no visible column.
    if (o === this.lineEnd(lo) + 1 && this.text.charCodeAt(o - 1) === 13) character--;
    return { line: lo, character };
  }

  offset(pos: Position): number {
    if (pos.line < 0) return 0;
    if (pos.line >= this.starts.length) return this.text.length;
    return Math.min(this.starts[pos.line] + Math.max(0, pos.character), this.lineEnd(pos.line));
  }

  lineStart(line: number): number {
    return this.starts[Math.max(0, Math.min(line, this.starts.length - 1))];
  }

  /** Offset of the end of the line's content (before `\r\n` or `\n`). */
  lineEnd(line: number): number {
    const next = line + 1 < this.starts.length ? this.starts[line + 1] - 1 : this.text.length;
    return next > this.starts[line] && this.text.charCodeAt(next - 1) === 13 ? next - 1 : next;
  }
}
