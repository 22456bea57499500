/** Markdown tables as the benches print them (docs/benchmarks.md takes them as printed). */

/** One row of a markdown table. */
export const markdownRow = (cells: readonly (string | number)[]): string => `| ${cells.join(' | ')} |`;

/** A header, its rule (first column left-aligned, the figures right-aligned), then the rows. */
export function markdownTable(
  head: readonly string[],
  rows: readonly (readonly (string | number)[])[],
): string {
  const rule = head.map((_, i) => (i === 0 ? '---' : '---:'));
  return [head, rule, ...rows].map(markdownRow).join('\n');
}
