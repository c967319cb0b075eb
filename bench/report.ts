// Prints benchmark figures as CONTRACT.md specifies: one JSON object per line.

export interface Figure {
  bench: string;
  metric: string;
  value: number;
  unit: string;
  /** The same figure measured for the peer in the same run. */
  baseline?: number;
  /** value / baseline. */
  ratio?: number;
}

export function report(figure: Figure): void {
  const out: Figure = { ...figure, value: round(figure.value) };
  if (figure.baseline !== undefined) {
    out.baseline = round(figure.baseline);
    out.ratio = round(figure.value / figure.baseline);
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}
