// Figures the benchmarks share (this bench and zombienet's latency benchmark).

/** The `q`-quantile (0-1) of `values`, nearest rank; NaN for none. */
export function quantile(values, q) {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1))];
}
