/**
 * Butcher's order conditions from rooted trees: a Runge–Kutta method has order p exactly when
 * Σ_i b_i Φ_i(τ) = 1/γ(τ) for every rooted tree τ with at most p nodes (Hairer, Nørsett & Wanner I, II.2).
 * A continuous extension w(θ) has order p* when Σ_i w_i(θ) Φ_i(τ) = θ^|τ|/γ(τ) for |τ| ≤ p*.
 */

/** A rooted tree as the list of its root's subtrees. */
export type Tree = Tree[];

/** Every rooted tree with 1 … maxOrder nodes, by order (index = order). */
export function treesUpTo(maxOrder: number): Tree[][] {
  const byOrder: Tree[][] = [[], [[]]];
  const all: { tree: Tree; order: number }[] = [{ tree: [], order: 1 }];
  for (let n = 2; n <= maxOrder; n++) {
    const result: Tree[] = [];
    // Multisets of subtrees whose orders sum to n − 1, chosen in non-decreasing index order.
    const extend = (start: number, remaining: number, children: Tree[]) => {
      if (remaining === 0) return void result.push([...children]);
      for (let i = start; i < all.length; i++) {
        if (all[i].order <= remaining) extend(i, remaining - all[i].order, [...children, all[i].tree]);
      }
    };
    extend(0, n - 1, []);
    byOrder.push(result);
    all.push(...result.map((tree) => ({ tree, order: n })));
  }
  return byOrder;
}

export function order(tree: Tree): number {
  return 1 + tree.reduce((s, child) => s + order(child), 0);
}

/** γ(τ) = |τ| Π γ(children). */
export function density(tree: Tree): number {
  return order(tree) * tree.reduce((p, child) => p * density(child), 1);
}

/** Stage weights Φ_i(τ) = Π_children Σ_j a_ij Φ_j(child). */
export function stageWeights(a: readonly (readonly number[])[], tree: Tree): number[] {
  const s = a.length;
  const result = new Array<number>(s).fill(1);
  for (const child of tree) {
    const phi = stageWeights(a, child);
    for (let i = 0; i < s; i++) result[i] *= a[i].reduce((acc, aij, j) => acc + aij * phi[j], 0);
  }
  return result;
}

/** The highest p such that weights w satisfy every condition up to p (scaled by θ^|τ|). */
export function satisfiedOrder(a: readonly (readonly number[])[], w: readonly number[], theta = 1, tol = 1e-12, maxOrder = 6): number {
  const trees = treesUpTo(maxOrder);
  for (let p = 1; p <= maxOrder; p++) {
    for (const tree of trees[p]) {
      const phi = stageWeights(a, tree);
      const lhs = w.reduce((acc, wi, i) => acc + wi * phi[i], 0);
      if (Math.abs(lhs - theta ** p / density(tree)) > tol) return p - 1;
    }
  }
  return maxOrder;
}
