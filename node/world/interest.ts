/**
 * Interest management: a square grid on the ground plane (x, z). A member sees the users in its own cell
 * and the eight around it, so "who sees whom" is symmetric and changes only when someone crosses a cell
 * line. Cell size 0 puts everyone in one cell: everyone sees everyone (the original's behaviour).
 */

/** Grid cells are keyed by one number: (cx + OFFSET) * SPAN + (cz + OFFSET), exact below 2^53. */
const CELL_OFFSET = 2 ** 20;
const CELL_SPAN = 2 ** 21;
const cellKey = (cx: number, cz: number) => (cx + CELL_OFFSET) * CELL_SPAN + (cz + CELL_OFFSET);
const cellX = (key: number) => Math.floor(key / CELL_SPAN) - CELL_OFFSET;
const cellZ = (key: number) => (key % CELL_SPAN) - CELL_OFFSET;

/** The one cell of a world without interest management. */
const EVERYWHERE = [0];

export class InterestGrid<T> {
  readonly cellSize: number;
  private readonly cells = new Map<number, Set<T>>();

  constructor(cellSize: number) {
    this.cellSize = Math.max(cellSize, 0);
  }

  /** The cell a ground position falls in (always 0 without interest management). */
  cellAt(x: number, z: number): number {
    const size = this.cellSize;
    if (size === 0) return 0;
    return cellKey(Math.floor(x / size), Math.floor(z / size));
  }

  insert(item: T, cell: number): void {
    const members = this.cells.get(cell);
    if (members) members.add(item);
    else this.cells.set(cell, new Set([item]));
  }

  delete(item: T, cell: number): void {
    const members = this.cells.get(cell);
    if (!members) return;
    members.delete(item);
    if (members.size === 0) this.cells.delete(cell);
  }

  /** The cells a member in `cell` sees: its own and the eight around it. */
  neighbourhood(cell: number): readonly number[] {
    if (this.cellSize === 0) return EVERYWHERE;
    const cx = cellX(cell);
    const cz = cellZ(cell);
    const keys: number[] = [];
    for (let dx = -1; dx <= 1; dx++) for (let dz = -1; dz <= 1; dz++) keys.push(cellKey(cx + dx, cz + dz));
    return keys;
  }

  /** True when members of cells `a` and `b` see each other. */
  adjacent(a: number, b: number): boolean {
    if (this.cellSize === 0) return true;
    return Math.abs(cellX(a) - cellX(b)) <= 1 && Math.abs(cellZ(a) - cellZ(b)) <= 1;
  }

  /** Everyone a member in `cell` sees (the member itself included when it is in the grid). */
  *around(cell: number): Generator<T> {
    for (const key of this.neighbourhood(cell)) {
      const members = this.cells.get(key);
      if (members) yield* members;
    }
  }

  /** The members of one cell. */
  in(cell: number): ReadonlySet<T> | undefined {
    return this.cells.get(cell);
  }

  /**
   * Who starts and who stops seeing a member that moves from cell `from` to `to`: the members of the
   * cells that come into its view, and of those that leave it.
   */
  *crossing(from: number, to: number): Generator<{ item: T; visible: boolean }> {
    for (const key of this.neighbourhood(to)) {
      if (this.adjacent(key, from)) continue;
      const members = this.cells.get(key);
      if (members) for (const item of members) yield { item, visible: true };
    }
    for (const key of this.neighbourhood(from)) {
      if (this.adjacent(key, to)) continue;
      const members = this.cells.get(key);
      if (members) for (const item of members) yield { item, visible: false };
    }
  }
}
