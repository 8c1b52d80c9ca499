/**
 * Optimal assignment (linear sum assignment) for rectangular cost matrices.
 *
 * Shortest augmenting paths with dual potentials (the Hungarian method in the form Jonker and
 * Volgenant made fast): rows are added one at a time, and each addition runs a Dijkstra-like search
 * over the columns on reduced costs `c[i][j] - u[i] - v[j]`, which stay non-negative, so every
 * augmentation is along a cheapest path. O(n²·m) for n rows ≤ m columns; tracker matrices are tens
 * of rows, so this is microseconds. Written for this project; no dependency fits well (the npm
 * options are unmaintained or pull a matrix library).
 */

export class AssignmentError extends Error {
  readonly code = 'TRACKING_ERR_ASSIGNMENT';
  constructor(message: string) {
    super(message);
    this.name = 'AssignmentError';
  }
}

/** Row-major cost matrix: `cost[r * cols + c]`. */
export interface CostMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly cost: ArrayLike<number>;
}

export interface Assignment {
  /** column assigned to each row, -1 when the row is unassigned */
  readonly rowToCol: Int32Array;
  /** row assigned to each column, -1 when the column is unassigned */
  readonly colToRow: Int32Array;
}

// Scratch buffers reused between calls: assignment runs on every frame and the sizes are small.
let scratchSize = 0;
let u = new Float64Array(0);
let v = new Float64Array(0);
let minReduced = new Float64Array(0);
let owner = new Int32Array(0);
let prevCol = new Int32Array(0);
let visited = new Uint8Array(0);

function ensureScratch(n: number): void {
  if (n <= scratchSize) return;
  scratchSize = Math.max(n, scratchSize * 2, 16);
  u = new Float64Array(scratchSize);
  v = new Float64Array(scratchSize);
  minReduced = new Float64Array(scratchSize);
  owner = new Int32Array(scratchSize);
  prevCol = new Int32Array(scratchSize);
  visited = new Uint8Array(scratchSize);
}

/**
 * Minimum-cost assignment of min(rows, cols) pairs: every row is assigned when rows ≤ cols,
 * every column otherwise. All costs must be finite (use {@link assignWithGate} for forbidden pairs).
 */
export function solveAssignment(matrix: CostMatrix): Assignment {
  const { rows, cols, cost } = matrix;
  if (cost.length !== rows * cols) {
    throw new AssignmentError(`cost has ${cost.length} entries, expected ${rows}x${cols}`);
  }
  const rowToCol = new Int32Array(rows).fill(-1);
  const colToRow = new Int32Array(cols).fill(-1);
  if (rows === 0 || cols === 0) return { rowToCol, colToRow };
  for (let k = 0; k < cost.length; k++) {
    if (!Number.isFinite(cost[k])) throw new AssignmentError(`cost[${k}] is not finite`);
  }
  // The search below needs rows ≤ cols; a tall matrix is solved transposed.
  const transposed = rows > cols;
  const n = transposed ? cols : rows;
  const m = transposed ? rows : cols;
  const at = transposed ? (i: number, j: number) => cost[j * cols + i]! : (i: number, j: number) => cost[i * cols + j]!;

  // Index 0 of the column arrays is a virtual column that holds the row being inserted; real
  // rows and columns are 1-based in the search.
  ensureScratch(m + 1);
  u.fill(0, 0, n + 1);
  v.fill(0, 0, m + 1);
  owner.fill(0, 0, m + 1);

  for (let row = 1; row <= n; row++) {
    owner[0] = row;
    let col = 0;
    minReduced.fill(Infinity, 0, m + 1);
    visited.fill(0, 0, m + 1);
    // Grow a tree of tight edges until it reaches a free column.
    do {
      visited[col] = 1;
      const r = owner[col]!;
      let delta = Infinity;
      let nextCol = -1;
      for (let j = 1; j <= m; j++) {
        if (visited[j]) continue;
        const reduced = at(r - 1, j - 1) - u[r]! - v[j]!;
        if (reduced < minReduced[j]!) {
          minReduced[j] = reduced;
          prevCol[j] = col;
        }
        if (minReduced[j]! < delta) {
          delta = minReduced[j]!;
          nextCol = j;
        }
      }
      // Shift potentials so the cheapest frontier edge becomes tight; visited edges stay tight.
      for (let j = 0; j <= m; j++) {
        if (visited[j]) {
          u[owner[j]!]! += delta;
          v[j]! -= delta;
        } else {
          minReduced[j]! -= delta;
        }
      }
      col = nextCol;
    } while (owner[col] !== 0);
    // Augment: walk back along the path, moving each column to the row that reached it.
    while (col !== 0) {
      const back = prevCol[col]!;
      owner[col] = owner[back]!;
      col = back;
    }
  }

  for (let j = 1; j <= m; j++) {
    const r = owner[j]!;
    if (r === 0) continue;
    if (transposed) {
      rowToCol[j - 1] = r - 1;
      colToRow[r - 1] = j - 1;
    } else {
      rowToCol[r - 1] = j - 1;
      colToRow[j - 1] = r - 1;
    }
  }
  return { rowToCol, colToRow };
}

/**
 * Assignment where pairs with a non-finite cost or a cost above `maxCost` are forbidden. Forbidden
 * pairs get a cost larger than any sum of allowed ones, so the result has the largest possible
 * number of allowed pairs and, among those, the lowest total cost (the convention of the
 * MOTChallenge tools); forbidden pairs that the solver had to use are then dropped.
 */
export function assignWithGate(matrix: CostMatrix, maxCost = Infinity): Assignment {
  const { rows, cols, cost } = matrix;
  const allowed = (c: number) => Number.isFinite(c) && c <= maxCost;
  let maxAbs = 0;
  let anyForbidden = false;
  for (let k = 0; k < cost.length; k++) {
    const c = cost[k]!;
    if (allowed(c)) maxAbs = Math.max(maxAbs, Math.abs(c));
    else anyForbidden = true;
  }
  if (!anyForbidden) return solveAssignment(matrix);
  // Any assignment has at most min(rows, cols) pairs, so its allowed part spans less than
  // 2·min·maxAbs: one forbidden pair always costs more than that difference.
  const forbiddenCost = 2 * Math.min(rows, cols) * maxAbs + 1;
  const safe = new Float64Array(cost.length);
  for (let k = 0; k < cost.length; k++) safe[k] = allowed(cost[k]!) ? cost[k]! : forbiddenCost;
  const result = solveAssignment({ rows, cols, cost: safe });
  for (let r = 0; r < rows; r++) {
    const c = result.rowToCol[r]!;
    if (c >= 0 && !allowed(cost[r * cols + c]!)) {
      result.rowToCol[r] = -1;
      result.colToRow[c] = -1;
    }
  }
  return result;
}
