/** Markdown tables as the benches print them (docs/benchmarks.md takes them as printed). */

/** One row of a markdown table. */
export const markdownRow = (cells: readonly (string | number)[]): string => `| ${cells.join(' | ')} |`;

/**
 * A header, its rule, then the rows: the first column left-aligned and the figures right-aligned, or every
 * column left-aligned (`'left'`, for columns that mix figures and words).
 */
export function markdownTable(
  head: readonly string[],
  rows: readonly (readonly (string | number)[])[],
  align: 'figures-right' | 'left' = 'figures-right',
): string {
  const rule = head.map((_, i) => (i === 0 || align === 'left' ? '---' : '---:'));
  return [head, rule, ...rows].map(markdownRow).join('\n');
}
