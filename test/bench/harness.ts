// A small benchmark harness: warm up, take samples, report medians and p95.
// Benchmarks print figures; they never pass or fail on time (machines here
// are shared and noisy), so compare ratios measured in the same run.

export interface Stats {
  samples: number;
  median: number;
  p95: number;
  min: number;
}

export function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { samples: s.length, median: at(0.5), p95: at(0.95), min: s[0] };
}

/** Runs `fn` `warmup` times unmeasured, then `iterations` times, returning milliseconds per call. */
export function measure(fn: () => void, iterations: number, warmup = Math.max(3, iterations >> 2)): Stats {
  for (let i = 0; i < warmup; i++) fn();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return stats(samples);
}

export async function measureAsync(
  fn: () => Promise<void>,
  iterations: number,
  warmup = Math.max(3, iterations >> 2),
): Promise<Stats> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return stats(samples);
}

export function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) g();
}

export const fmt = (ms: number): string =>
  ms < 1 ? ms.toFixed(3) : ms < 100 ? ms.toFixed(2) : ms.toFixed(0);

export interface Row {
  name: string;
  value: string;
  target?: string;
}

export function printTable(title: string, rows: Row[]): void {
  console.log(`\n${title}`);
  const w = Math.max(...rows.map((r) => r.name.length));
  const v = Math.max(...rows.map((r) => r.value.length));
  for (const r of rows)
    console.log(`  ${r.name.padEnd(w)}  ${r.value.padStart(v)}${r.target ? `   (target ${r.target})` : ""}`);
}
