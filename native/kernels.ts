// AssemblyScript, compiled to WebAssembly with SIMD by scripts/build_native.mjs (not TypeScript:
// usize, v128 and load<f32> are AssemblyScript's). Every pointer is a byte offset into this module's
// memory, which the JavaScript side (src/native/) lays out; every matrix is float32, row-major.
//
// Why: on tfjs's wasm backend each kernel costs ~12-20 µs of engine overhead, and products that
// reduce over the batch (xᵀ·dy) need a transpose that costs as much as the product. These kernels
// fuse a ConcatSquash layer's elementwise work into one pass and reduce over rows directly.

// ---------------------------------------------------------------------------------------------
// Elementary functions on 4 lanes (Cephes' single-precision expf and tanhf, ~1-2 ulp).

// @ts-ignore: decorator
@inline function exp4(x: v128): v128 {
  // exp(x) = 2^n · exp(r), n = round(x / ln 2), |r| ≤ ln(2)/2; clamped so that 2^n stays normal.
  // pmin/pmax (not min/max, whose NaN rules cost ~8 instructions each on x64); rounding by the
  // 1.5·2^23 trick, which also leaves n in the low bits; Estrin's scheme for a shorter chain.
  x = f32x4.pmin(f32x4.pmax(x, f32x4.splat(-87.33654)), f32x4.splat(88.0));
  const magic = f32x4.splat(12582912.0);
  const shifted = f32x4.add(f32x4.mul(x, f32x4.splat(1.44269504088896341)), magic);
  const fx = f32x4.sub(shifted, magic);
  let r = f32x4.sub(x, f32x4.mul(fx, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(fx, f32x4.splat(-2.12194440e-4)));
  const r2 = f32x4.mul(r, r);
  const a = f32x4.add(f32x4.mul(f32x4.splat(1.6666665459e-1), r), f32x4.splat(5.0000001201e-1));
  const b = f32x4.add(f32x4.mul(f32x4.splat(8.3334519073e-3), r), f32x4.splat(4.1665795894e-2));
  const c = f32x4.add(f32x4.mul(f32x4.splat(1.9875691500e-4), r), f32x4.splat(1.3981999507e-3));
  const p = f32x4.add(a, f32x4.mul(r2, f32x4.add(b, f32x4.mul(r2, c))));
  const y = f32x4.add(f32x4.add(f32x4.mul(p, r2), r), f32x4.splat(1));
  const pow2n = i32x4.shl(i32x4.add(shifted, i32x4.splat(127)), 23);
  return f32x4.mul(y, pow2n);
}

// @ts-ignore: decorator
@inline function sigmoid4(x: v128): v128 {
  const one = f32x4.splat(1);
  return f32x4.div(one, f32x4.add(one, exp4(f32x4.neg(x))));
}

// @ts-ignore: decorator
@inline function tanh4(x: v128): v128 {
  // Small |x|: an odd polynomial (no cancellation near 0); else 1 − 2/(e^{2|x|} + 1) with x's sign.
  const ax = f32x4.abs(x);
  const z = f32x4.mul(x, x);
  let p = f32x4.splat(-5.70498872745e-3);
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(2.06390887954e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-5.37397155531e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(1.33314422036e-1));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-3.33332819422e-1));
  const small = f32x4.add(f32x4.mul(f32x4.mul(p, z), x), x);
  const e = exp4(f32x4.add(ax, ax));
  const largeAbs = f32x4.sub(f32x4.splat(1), f32x4.div(f32x4.splat(2), f32x4.add(e, f32x4.splat(1))));
  const signBit = v128.and(x, i32x4.splat(0x80000000));
  const large = v128.or(largeAbs, signBit);
  return v128.bitselect(small, large, f32x4.lt(ax, f32x4.splat(0.625)));
}

// Scalar versions through lane 0, so that remainders agree with the vector path bit for bit.
// @ts-ignore: decorator
@inline function sigmoid1(x: f32): f32 {
  return f32x4.extract_lane(sigmoid4(f32x4.splat(x)), 0);
}
// @ts-ignore: decorator
@inline function tanh1(x: f32): f32 {
  return f32x4.extract_lane(tanh4(f32x4.splat(x)), 0);
}

// @ts-ignore: decorator
@inline function log4(x: v128): v128 {
  // Cephes' logf for normal x > 0: x = m·2^e with m in [√½, √2), log x = log1p(m − 1) + e·ln 2.
  const bits = x;
  let e = f32x4.convert_i32x4_s(i32x4.sub(i32x4.shr_u(v128.and(bits, i32x4.splat(0x7f800000)), 23), i32x4.splat(126)));
  let m = v128.or(v128.and(bits, i32x4.splat(0x807fffff)), i32x4.splat(0x3f000000)); // [0.5, 1)
  const low = f32x4.lt(m, f32x4.splat(0.707106781186547524));
  e = f32x4.sub(e, v128.and(low, f32x4.splat(1)));
  m = f32x4.sub(f32x4.add(m, v128.and(low, m)), f32x4.splat(1));
  const z = f32x4.mul(m, m);
  let p = f32x4.splat(7.0376836292e-2);
  p = f32x4.add(f32x4.mul(p, m), f32x4.splat(-1.1514610310e-1));
  p = f32x4.add(f32x4.mul(p, m), f32x4.splat(1.1676998740e-1));
  p = f32x4.add(f32x4.mul(p, m), f32x4.splat(-1.2420140846e-1));
  p = f32x4.add(f32x4.mul(p, m), f32x4.splat(1.4249322787e-1));
  p = f32x4.add(f32x4.mul(p, m), f32x4.splat(-1.6668057665e-1));
  p = f32x4.add(f32x4.mul(p, m), f32x4.splat(2.0000714765e-1));
  p = f32x4.add(f32x4.mul(p, m), f32x4.splat(-2.4999993993e-1));
  p = f32x4.add(f32x4.mul(p, m), f32x4.splat(3.3333331174e-1));
  let y = f32x4.mul(f32x4.mul(p, z), m);
  y = f32x4.add(y, f32x4.mul(e, f32x4.splat(-2.12194440e-4)));
  y = f32x4.sub(y, f32x4.mul(z, f32x4.splat(0.5)));
  return f32x4.add(f32x4.add(m, y), f32x4.mul(e, f32x4.splat(0.693359375)));
}

// ---------------------------------------------------------------------------------------------
// The activations of a dynamics network, by id (src/native/squash_network.ts keeps the same ids):
// φ, and its first and second derivatives from the pre-activation y and the output h = φ(y).

const NONE: i32 = 0;
const TANH: i32 = 1;
const SOFTPLUS: i32 = 2;
const ELU: i32 = 3;
const SWISH: i32 = 4;

// @ts-ignore: decorator
@inline function activate4(act: i32, y: v128): v128 {
  if (act == TANH) return tanh4(y);
  if (act == SOFTPLUS) {
    // max(y, 0) + log(1 + e^{−|y|}): no overflow, and the log's argument is in (1, 2].
    return f32x4.add(f32x4.pmax(y, f32x4.splat(0)), log4(f32x4.add(f32x4.splat(1), exp4(f32x4.neg(f32x4.abs(y))))));
  }
  if (act == ELU) return v128.bitselect(y, f32x4.sub(exp4(f32x4.pmin(y, f32x4.splat(0))), f32x4.splat(1)), f32x4.gt(y, f32x4.splat(0)));
  if (act == SWISH) return f32x4.mul(y, sigmoid4(y));
  return y;
}

/** φ'(y), given h = φ(y). */
// @ts-ignore: decorator
@inline function slope4(act: i32, y: v128, h: v128): v128 {
  const one = f32x4.splat(1);
  if (act == TANH) return f32x4.sub(one, f32x4.mul(h, h));
  if (act == SOFTPLUS) return sigmoid4(y);
  if (act == ELU) return v128.bitselect(one, f32x4.add(h, one), f32x4.gt(y, f32x4.splat(0)));
  if (act == SWISH) {
    const s = sigmoid4(y);
    return f32x4.add(s, f32x4.mul(f32x4.mul(y, s), f32x4.sub(one, s)));
  }
  return one;
}

/** φ''(y), given h = φ(y). */
// @ts-ignore: decorator
@inline function curvature4(act: i32, y: v128, h: v128): v128 {
  const one = f32x4.splat(1);
  if (act == TANH) return f32x4.mul(f32x4.mul(f32x4.splat(-2), h), f32x4.sub(one, f32x4.mul(h, h)));
  if (act == SOFTPLUS) {
    const s = sigmoid4(y);
    return f32x4.mul(s, f32x4.sub(one, s));
  }
  if (act == ELU) return v128.bitselect(f32x4.splat(0), f32x4.add(h, one), f32x4.gt(y, f32x4.splat(0)));
  if (act == SWISH) {
    const s = sigmoid4(y);
    return f32x4.mul(f32x4.mul(s, f32x4.sub(one, s)), f32x4.add(f32x4.splat(2), f32x4.mul(y, f32x4.sub(one, f32x4.add(s, s)))));
  }
  return f32x4.splat(0);
}

// @ts-ignore: decorator
@inline function activate1(act: i32, y: f32): f32 {
  return f32x4.extract_lane(activate4(act, f32x4.splat(y)), 0);
}
// @ts-ignore: decorator
@inline function slope1(act: i32, y: f32, h: f32): f32 {
  return f32x4.extract_lane(slope4(act, f32x4.splat(y), f32x4.splat(h)), 0);
}
// @ts-ignore: decorator
@inline function curvature1(act: i32, y: f32, h: f32): f32 {
  return f32x4.extract_lane(curvature4(act, f32x4.splat(y), f32x4.splat(h)), 0);
}

/** dst[i] = σ(src[i]) for n values. */
export function sigmoidArray(src: usize, dst: usize, n: i32): void {
  let i = 0;
  // Four independent vectors per iteration: the polynomial chains are latency-bound.
  for (; i + 16 <= n; i += 16) {
    const o = <usize>i << 2;
    const a = sigmoid4(v128.load(src + o));
    const b = sigmoid4(v128.load(src + o, 16));
    const c = sigmoid4(v128.load(src + o, 32));
    const d = sigmoid4(v128.load(src + o, 48));
    v128.store(dst + o, a);
    v128.store(dst + o, b, 16);
    v128.store(dst + o, c, 32);
    v128.store(dst + o, d, 48);
  }
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), sigmoid4(v128.load(src + (<usize>i << 2))));
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), sigmoid1(load<f32>(src + (<usize>i << 2))));
}

/** dst[i] = tanh(src[i]) for n values. */
export function tanhArray(src: usize, dst: usize, n: i32): void {
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const o = <usize>i << 2;
    const a = tanh4(v128.load(src + o));
    const b = tanh4(v128.load(src + o, 16));
    const c = tanh4(v128.load(src + o, 32));
    const d = tanh4(v128.load(src + o, 48));
    v128.store(dst + o, a);
    v128.store(dst + o, b, 16);
    v128.store(dst + o, c, 32);
    v128.store(dst + o, d, 48);
  }
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), tanh4(v128.load(src + (<usize>i << 2))));
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), tanh1(load<f32>(src + (<usize>i << 2))));
}

/** dst[i] = φ(src[i]) for n values, φ the activation with id `act` (for the accuracy tests). */
export function activationArray(src: usize, dst: usize, n: i32, act: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), activate4(act, v128.load(src + (<usize>i << 2))));
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), activate1(act, load<f32>(src + (<usize>i << 2))));
}

// ---------------------------------------------------------------------------------------------
// Products. Blocks of 4 rows × 8 columns keep 8 accumulators in registers; remainders fall back to
// 1-row blocks and scalar columns.

/**
 * a·b + c on 4 lanes: one fused multiply-add where the module is built with relaxed SIMD (the
 * engine rounds once, or twice where it has no FMA), a multiply and an add otherwise.
 * ASC_FEATURE_RELAXED_SIMD is AssemblyScript's compile-time flag; scripts/build_native.mjs builds both.
 */
// @ts-ignore: decorator
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** C[m, n] = A[m, k] · B[k, n] (accumulate: C += A · B). */
export function mmNN(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, accumulate: bool): void {
  const kb = <usize>k << 2;
  const nb = <usize>n << 2;
  const kb2 = kb + kb;
  const kb3 = kb2 + kb;
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const a0 = a + <usize>i * kb;
    const c0 = c + <usize>i * nb;
    let j = 0;
    for (; j + 8 <= n; j += 8) {
      let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s10 = f32x4.splat(0), s11 = f32x4.splat(0);
      let s20 = f32x4.splat(0), s21 = f32x4.splat(0), s30 = f32x4.splat(0), s31 = f32x4.splat(0);
      let bp = b + (<usize>j << 2);
      // One pointer into the four rows, the others at fixed strides from it: ~8 % faster than a
      // counter with an address per row (the loop is issue-bound, and those were 6 more instructions).
      let ap = a0;
      const end = a0 + kb;
      while (ap < end) {
        const b0 = v128.load(bp);
        const b1 = v128.load(bp, 16);
        let av = v128.load32_splat(ap);
        s00 = madd(av, b0, s00);
        s01 = madd(av, b1, s01);
        av = v128.load32_splat(ap + kb);
        s10 = madd(av, b0, s10);
        s11 = madd(av, b1, s11);
        av = v128.load32_splat(ap + kb2);
        s20 = madd(av, b0, s20);
        s21 = madd(av, b1, s21);
        av = v128.load32_splat(ap + kb3);
        s30 = madd(av, b0, s30);
        s31 = madd(av, b1, s31);
        bp += nb;
        ap += 4;
      }
      const o = c0 + (<usize>j << 2);
      store8(o, s00, s01, accumulate);
      store8(o + nb, s10, s11, accumulate);
      store8(o + 2 * nb, s20, s21, accumulate);
      store8(o + 3 * nb, s30, s31, accumulate);
    }
    for (let r = 0; r < 4; r++) rowTail(a0 + <usize>r * kb, b, c0 + <usize>r * nb, k, n, j, accumulate);
  }
  for (; i < m; i++) rowTail(a + <usize>i * kb, b, c + <usize>i * nb, k, n, 0, accumulate);
}

// @ts-ignore: decorator
@inline function store8(o: usize, lo: v128, hi: v128, accumulate: bool): void {
  if (accumulate) {
    lo = f32x4.add(lo, v128.load(o));
    hi = f32x4.add(hi, v128.load(o, 16));
  }
  v128.store(o, lo);
  v128.store(o, hi, 16);
}

/** One row of mmNN from column j on: 4-column vectors, then scalars. */
function rowTail(arow: usize, b: usize, crow: usize, k: i32, n: i32, j: i32, accumulate: bool): void {
  const nb = <usize>n << 2;
  for (; j + 4 <= n; j += 4) {
    let s = f32x4.splat(0);
    let bp = b + (<usize>j << 2);
    for (let p = 0; p < k; p++) {
      s = madd(f32x4.splat(load<f32>(arow + (<usize>p << 2))), v128.load(bp), s);
      bp += nb;
    }
    const o = crow + (<usize>j << 2);
    if (accumulate) s = f32x4.add(s, v128.load(o));
    v128.store(o, s);
  }
  for (; j < n; j++) {
    let s: f32 = 0;
    for (let p = 0; p < k; p++) s += load<f32>(arow + (<usize>p << 2)) * load<f32>(b + ((<usize>p * <usize>n + <usize>j) << 2));
    const o = crow + (<usize>j << 2);
    store<f32>(o, accumulate ? load<f32>(o) + s : s);
  }
}

/** C[m, n] = A[m, k] · Btᵀ for Bt [n, k]: dot products along k, for narrow outputs (small n). */
export function mmNT(a: usize, bt: usize, c: usize, m: i32, k: i32, n: i32): void {
  const kb = <usize>k << 2;
  for (let i = 0; i < m; i++) {
    const arow = a + <usize>i * kb;
    for (let j = 0; j < n; j++) {
      const brow = bt + <usize>j * kb;
      let s4 = f32x4.splat(0);
      let p = 0;
      for (; p + 4 <= k; p += 4) s4 = madd(v128.load(arow + (<usize>p << 2)), v128.load(brow + (<usize>p << 2)), s4);
      let s = f32x4.extract_lane(s4, 0) + f32x4.extract_lane(s4, 1) + (f32x4.extract_lane(s4, 2) + f32x4.extract_lane(s4, 3));
      for (; p < k; p++) s += load<f32>(arow + (<usize>p << 2)) * load<f32>(brow + (<usize>p << 2));
      store<f32>(c + ((<usize>i * <usize>n + <usize>j) << 2), s);
    }
  }
}

/** Rows per pass of mmTN: 128 rows of A and D at width 64 are 64 KiB, which stay in L2 across its blocks. */
const REDUCTION_ROWS: i32 = 128;

/** C[k, n] = A[m, k]ᵀ · D[m, n] (accumulate: C += …): a reduction over the m rows, no transpose. */
export function mmTN(a: usize, d: usize, c: usize, m: i32, k: i32, n: i32, accumulate: bool): void {
  // In passes of REDUCTION_ROWS rows: each 4×8 block of C reads its columns of every row, and over a
  // whole batch (256 KiB each at 1024 × 64) those reads came from L3: ~7 % faster with cold caches.
  for (let r = 0; r < m; r += REDUCTION_ROWS) {
    const rows = min(REDUCTION_ROWS, m - r);
    mmTNRows(a + <usize>r * (<usize>k << 2), d + <usize>r * (<usize>n << 2), c, rows, k, n, accumulate || r > 0);
  }
}

/** mmTN over m rows in one pass. */
function mmTNRows(a: usize, d: usize, c: usize, m: i32, k: i32, n: i32, accumulate: bool): void {
  const kb = <usize>k << 2;
  const nb = <usize>n << 2;
  let i = 0;
  for (; i + 4 <= k; i += 4) {
    let j = 0;
    for (; j + 8 <= n; j += 8) {
      let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s10 = f32x4.splat(0), s11 = f32x4.splat(0);
      let s20 = f32x4.splat(0), s21 = f32x4.splat(0), s30 = f32x4.splat(0), s31 = f32x4.splat(0);
      let ap = a + (<usize>i << 2);
      let dp = d + (<usize>j << 2);
      // Broadcast loads and a loop on the pointer itself: ~18 % faster than splat(load) with a row
      // counter (fewer instructions per step; the loop is issue-bound, not multiply-bound).
      const end = dp + <usize>m * nb;
      while (dp < end) {
        const d0 = v128.load(dp);
        const d1 = v128.load(dp, 16);
        let av = v128.load32_splat(ap);
        s00 = madd(av, d0, s00);
        s01 = madd(av, d1, s01);
        av = v128.load32_splat(ap, 4);
        s10 = madd(av, d0, s10);
        s11 = madd(av, d1, s11);
        av = v128.load32_splat(ap, 8);
        s20 = madd(av, d0, s20);
        s21 = madd(av, d1, s21);
        av = v128.load32_splat(ap, 12);
        s30 = madd(av, d0, s30);
        s31 = madd(av, d1, s31);
        ap += kb;
        dp += nb;
      }
      const o = c + <usize>i * nb + (<usize>j << 2);
      store8(o, s00, s01, accumulate);
      store8(o + nb, s10, s11, accumulate);
      store8(o + 2 * nb, s20, s21, accumulate);
      store8(o + 3 * nb, s30, s31, accumulate);
    }
    for (let q = 0; q < 4; q++) reductionTail(a, d, c, m, k, n, i + q, j, accumulate);
  }
  for (; i < k; i++) reductionTail(a, d, c, m, k, n, i, 0, accumulate);
}

/** Row i of mmTN's output from column j on. */
function reductionTail(a: usize, d: usize, c: usize, m: i32, k: i32, n: i32, i: i32, j: i32, accumulate: bool): void {
  const kb = <usize>k << 2;
  const nb = <usize>n << 2;
  // 16 columns at a time: four independent sums hide the multiply-add latency that one sum waits
  // on (inputs with k < 4 columns, the first layer's xᵀ·d, run entirely here).
  for (; j + 16 <= n; j += 16) {
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    let ap = a + (<usize>i << 2);
    let dp = d + (<usize>j << 2);
    const end = dp + <usize>m * nb;
    while (dp < end) {
      const av = v128.load32_splat(ap);
      s0 = madd(av, v128.load(dp), s0);
      s1 = madd(av, v128.load(dp, 16), s1);
      s2 = madd(av, v128.load(dp, 32), s2);
      s3 = madd(av, v128.load(dp, 48), s3);
      ap += kb;
      dp += nb;
    }
    const o = c + <usize>i * nb + (<usize>j << 2);
    store8(o, s0, s1, accumulate);
    store8(o + 32, s2, s3, accumulate);
  }
  for (; j + 4 <= n; j += 4) {
    let s = f32x4.splat(0);
    let ap = a + (<usize>i << 2);
    let dp = d + (<usize>j << 2);
    const end = dp + <usize>m * nb;
    while (dp < end) {
      s = madd(v128.load32_splat(ap), v128.load(dp), s);
      ap += kb;
      dp += nb;
    }
    const o = c + <usize>i * nb + (<usize>j << 2);
    if (accumulate) s = f32x4.add(s, v128.load(o));
    v128.store(o, s);
  }
  for (; j < n; j++) {
    let s: f32 = 0;
    for (let r = 0; r < m; r++) s += load<f32>(a + ((<usize>r * <usize>k + <usize>i) << 2)) * load<f32>(d + ((<usize>r * <usize>n + <usize>j) << 2));
    const o = c + <usize>i * nb + (<usize>j << 2);
    store<f32>(o, accumulate ? load<f32>(o) + s : s);
  }
}

/** dst[i] += src[i] for n floats (the threads' gradients summed, where a JavaScript loop over shared memory is slow). */
export function addInto(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
  }
}

/** dst[cols, rows] = src[rows, cols]ᵀ. */
export function transpose(src: usize, dst: usize, rows: i32, cols: i32): void {
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      store<f32>(dst + ((<usize>j * <usize>rows + <usize>i) << 2), load<f32>(src + ((<usize>i * <usize>cols + <usize>j) << 2)));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// A ConcatSquash layer, y = lin ⊙ g + t w_b with lin = x W + b and g = σ(t w_g + b_g), for one time
// per row (flow matching). x W comes from mmNN; these fuse everything after it and before the next
// product into one pass.

// @ts-ignore: decorator
@inline function squashForward4(z: usize, g: usize, out: usize, pre: usize, tv: v128, b: usize, gw: usize, gb: usize, bw: usize, act: i32): void {
  const lin = f32x4.add(v128.load(z), v128.load(b));
  const gate = sigmoid4(f32x4.add(f32x4.mul(tv, v128.load(gw)), v128.load(gb)));
  const y = f32x4.add(f32x4.mul(lin, gate), f32x4.mul(tv, v128.load(bw)));
  v128.store(z, lin);
  v128.store(g, gate);
  if (pre != 0) v128.store(pre, y);
  v128.store(out, activate4(act, y));
}

/**
 * On entry z [m, n] holds x W; on exit it holds lin = x W + b, g [m, n] the gates, out [m, n] φ(y)
 * (φ the activation `act`; NONE for the last layer) and, when `pre` is not 0, pre [m, n] y itself
 * (the backward pass of activations other than tanh needs it), for the per-row times t [m].
 */
export function squashForwardRows(z: usize, g: usize, out: usize, pre: usize, t: usize, b: usize, gw: usize, gb: usize, bw: usize, m: i32, n: i32, act: i32): void {
  for (let r = 0; r < m; r++) {
    const tr = load<f32>(t + (<usize>r << 2));
    const tv = f32x4.splat(tr);
    const row = <usize>r * (<usize>n << 2);
    // Two passes over the row, four vectors at a time: the gates, then y and tanh. The polynomial
    // chains are latency-bound, and independent chains of one kind overlap best.
    let j = 0;
    for (; j + 16 <= n; j += 16) {
      const c = <usize>j << 2;
      const g0 = sigmoid4(f32x4.add(f32x4.mul(tv, v128.load(gw + c)), v128.load(gb + c)));
      const g1 = sigmoid4(f32x4.add(f32x4.mul(tv, v128.load(gw + c, 16)), v128.load(gb + c, 16)));
      const g2 = sigmoid4(f32x4.add(f32x4.mul(tv, v128.load(gw + c, 32)), v128.load(gb + c, 32)));
      const g3 = sigmoid4(f32x4.add(f32x4.mul(tv, v128.load(gw + c, 48)), v128.load(gb + c, 48)));
      const gr = g + row + c;
      v128.store(gr, g0);
      v128.store(gr, g1, 16);
      v128.store(gr, g2, 32);
      v128.store(gr, g3, 48);
    }
    for (let i = 0; i < j; i += 16) {
      const c = <usize>i << 2;
      const zr = z + row + c;
      const gr = g + row + c;
      const lin0 = f32x4.add(v128.load(zr), v128.load(b + c));
      const lin1 = f32x4.add(v128.load(zr, 16), v128.load(b + c, 16));
      const lin2 = f32x4.add(v128.load(zr, 32), v128.load(b + c, 32));
      const lin3 = f32x4.add(v128.load(zr, 48), v128.load(b + c, 48));
      v128.store(zr, lin0);
      v128.store(zr, lin1, 16);
      v128.store(zr, lin2, 32);
      v128.store(zr, lin3, 48);
      let y0 = f32x4.add(f32x4.mul(lin0, v128.load(gr)), f32x4.mul(tv, v128.load(bw + c)));
      let y1 = f32x4.add(f32x4.mul(lin1, v128.load(gr, 16)), f32x4.mul(tv, v128.load(bw + c, 16)));
      let y2 = f32x4.add(f32x4.mul(lin2, v128.load(gr, 32)), f32x4.mul(tv, v128.load(bw + c, 32)));
      let y3 = f32x4.add(f32x4.mul(lin3, v128.load(gr, 48)), f32x4.mul(tv, v128.load(bw + c, 48)));
      if (pre != 0) {
        const pr = pre + row + c;
        v128.store(pr, y0);
        v128.store(pr, y1, 16);
        v128.store(pr, y2, 32);
        v128.store(pr, y3, 48);
      }
      if (act == TANH) {
        y0 = tanh4(y0);
        y1 = tanh4(y1);
        y2 = tanh4(y2);
        y3 = tanh4(y3);
      } else if (act != NONE) {
        y0 = activate4(act, y0);
        y1 = activate4(act, y1);
        y2 = activate4(act, y2);
        y3 = activate4(act, y3);
      }
      const or = out + row + c;
      v128.store(or, y0);
      v128.store(or, y1, 16);
      v128.store(or, y2, 32);
      v128.store(or, y3, 48);
    }
    for (; j + 4 <= n; j += 4) {
      const c = <usize>j << 2;
      squashForward4(z + row + c, g + row + c, out + row + c, pre != 0 ? pre + row + c : 0, tv, b + c, gw + c, gb + c, bw + c, act);
    }
    for (; j < n; j++) {
      const c = <usize>j << 2;
      const lin = load<f32>(z + row + c) + load<f32>(b + c);
      const gate = sigmoid1(tr * load<f32>(gw + c) + load<f32>(gb + c));
      const y = lin * gate + tr * load<f32>(bw + c);
      store<f32>(z + row + c, lin);
      store<f32>(g + row + c, gate);
      if (pre != 0) store<f32>(pre + row + c, y);
      store<f32>(out + row + c, activate1(act, y));
    }
  }
}

/**
 * The backward pass of squashForwardRows up to the product: from dy = ∂L/∂y [m, n], writes
 * dlin = dy ⊙ g and the gradients db = Σ dlin, dw_g = Σ t dgpre, db_g = Σ dgpre, dw_b = Σ t dy
 * (sums over rows, dgpre = dy ⊙ lin ⊙ g(1 − g)).
 */
export function squashBackwardRows(dy: usize, lin: usize, g: usize, t: usize, dlin: usize, db: usize, dgw: usize, dgb: usize, dbw: usize, m: i32, n: i32): void {
  memory.fill(db, 0, <usize>n << 2);
  memory.fill(dgw, 0, <usize>n << 2);
  memory.fill(dgb, 0, <usize>n << 2);
  memory.fill(dbw, 0, <usize>n << 2);
  for (let r = 0; r < m; r++) {
    const tr = load<f32>(t + (<usize>r << 2));
    const tv = f32x4.splat(tr);
    const row = <usize>r * (<usize>n << 2);
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const c = <usize>j << 2;
      const d = v128.load(dy + row + c);
      const gate = v128.load(g + row + c);
      const dl = f32x4.mul(d, gate);
      const dgpre = f32x4.mul(f32x4.mul(d, v128.load(lin + row + c)), f32x4.mul(gate, f32x4.sub(f32x4.splat(1), gate)));
      v128.store(dlin + row + c, dl);
      v128.store(db + c, f32x4.add(v128.load(db + c), dl));
      v128.store(dgb + c, f32x4.add(v128.load(dgb + c), dgpre));
      v128.store(dgw + c, f32x4.add(v128.load(dgw + c), f32x4.mul(tv, dgpre)));
      v128.store(dbw + c, f32x4.add(v128.load(dbw + c), f32x4.mul(tv, d)));
    }
    for (; j < n; j++) {
      const c = <usize>j << 2;
      const d = load<f32>(dy + row + c);
      const gate = load<f32>(g + row + c);
      const dl = d * gate;
      const dgpre = d * load<f32>(lin + row + c) * (gate * (1 - gate));
      store<f32>(dlin + row + c, dl);
      store<f32>(db + c, load<f32>(db + c) + dl);
      store<f32>(dgb + c, load<f32>(dgb + c) + dgpre);
      store<f32>(dgw + c, load<f32>(dgw + c) + tr * dgpre);
      store<f32>(dbw + c, load<f32>(dbw + c) + tr * d);
    }
  }
}

/**
 * dx ⊙= φ'(y) for h = φ(y): the gradient through the activation `act`, in place; `pre` holds y
 * (unused for tanh, whose slope 1 − h² comes from its output).
 */
export function activationBackward(dx: usize, h: usize, pre: usize, n: i32, act: i32): void {
  if (act == TANH) {
    tanhBackward(dx, h, n);
    return;
  }
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dx + o, f32x4.mul(v128.load(dx + o), slope4(act, v128.load(pre + o), v128.load(h + o))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, load<f32>(dx + o) * slope1(act, load<f32>(pre + o), load<f32>(h + o)));
  }
}

/** dx ⊙= 1 − h² for h = tanh(z): the gradient through the activation, in place. */
function tanhBackward(dx: usize, h: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const hv = v128.load(h + o);
    v128.store(dx + o, f32x4.mul(v128.load(dx + o), f32x4.sub(f32x4.splat(1), f32x4.mul(hv, hv))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const hv = load<f32>(h + o);
    store<f32>(dx + o, load<f32>(dx + o) * (1 - hv * hv));
  }
}

/** The mean over m rows of ‖f − target‖², with its gradient dy = 2 (f − target) / m. */
export function squaredErrorGrad(f: usize, target: usize, dy: usize, m: i32, n: i32): f64 {
  const count = m * n;
  const scale = <f32>(2.0 / <f64>m);
  let sum: f64 = 0;
  for (let i = 0; i < count; i++) {
    const o = <usize>i << 2;
    const diff = load<f32>(f + o) - load<f32>(target + o);
    sum += <f64>diff * <f64>diff;
    store<f32>(dy + o, scale * diff);
  }
  return sum / <f64>m;
}

// ---------------------------------------------------------------------------------------------
// Adam (PyTorch's rule: weight decay as L2 added to the gradient), all-or-nothing: when any new
// weight would be NaN or Inf nothing changes and it returns false.

/**
 * One update of p [n] from g [n] with moments mo, v [n]; scratch holds 3n floats. stepSize is
 * lr / (1 − β1^t) and bias2 is 1 − β2^t, computed by the caller in double precision.
 */
export function adamUpdate(p: usize, g: usize, mo: usize, v: usize, scratch: usize, n: i32, stepSize: f32, beta1: f32, beta2: f32, epsilon: f32, weightDecay: f32, bias2: f32): bool {
  const nb = <usize>n << 2;
  const mNew = scratch;
  const vNew = scratch + nb;
  const pNew = scratch + 2 * nb;
  let finite = true;
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const w = load<f32>(p + o);
    const grad = load<f32>(g + o) + weightDecay * w;
    const m1 = beta1 * load<f32>(mo + o) + (1 - beta1) * grad;
    const v1 = beta2 * load<f32>(v + o) + (1 - beta2) * (grad * grad);
    const next = w + (m1 / (Mathf.sqrt(v1 / bias2) + epsilon)) * -stepSize;
    if (!isFinite(next)) finite = false;
    store<f32>(mNew + o, m1);
    store<f32>(vNew + o, v1);
    store<f32>(pNew + o, next);
  }
  if (!finite) return false;
  memory.copy(mo, mNew, nb);
  memory.copy(v, vNew, nb);
  memory.copy(p, pNew, nb);
  return true;
}

// ---------------------------------------------------------------------------------------------
// A ConcatSquash layer at one scalar time t with K tangents (the CNF's joint dynamics): the rows of
// every matrix are stacked as [primal (B rows); tangent 1 (B rows); …; tangent K], so one product
// serves them all. Per layer: g = σ(t w_g + b_g) and t w_b are n-vectors.

/** g = σ(t w_g + b_g) and tb = t w_b, n values each. */
export function squashGate(t: f32, gw: usize, gb: usize, bw: usize, g: usize, tb: usize, n: i32): void {
  for (let j = 0; j < n; j++) {
    const o = <usize>j << 2;
    store<f32>(g + o, sigmoid1(t * load<f32>(gw + o) + load<f32>(gb + o)));
    store<f32>(tb + o, t * load<f32>(bw + o));
  }
}

/**
 * On entry z [(1+K)B, n] holds S W for the stacked input S. Primal rows: z ← lin = z + b and
 * out = φ(y), y = lin ⊙ g + tb (φ the activation `act`, NONE for the last layer). Tangent rows: z
 * keeps P = ȧ W and out = (P ⊙ g) ⊙ φ'(y) of the primal row (1 − h² for tanh, from its output h).
 */
export function squashForwardStacked(z: usize, out: usize, g: usize, b: usize, tb: usize, rows: i32, tangents: i32, n: i32, act: i32): void {
  const rowBytes = <usize>n << 2;
  for (let r = 0; r < rows; r++) {
    const zr = z + <usize>r * rowBytes;
    const or = out + <usize>r * rowBytes;
    let j = 0;
    for (; j + 16 <= n; j += 16) {
      const c = <usize>j << 2;
      const lin0 = f32x4.add(v128.load(zr + c), v128.load(b + c));
      const lin1 = f32x4.add(v128.load(zr + c, 16), v128.load(b + c, 16));
      const lin2 = f32x4.add(v128.load(zr + c, 32), v128.load(b + c, 32));
      const lin3 = f32x4.add(v128.load(zr + c, 48), v128.load(b + c, 48));
      v128.store(zr + c, lin0);
      v128.store(zr + c, lin1, 16);
      v128.store(zr + c, lin2, 32);
      v128.store(zr + c, lin3, 48);
      let y0 = f32x4.add(f32x4.mul(lin0, v128.load(g + c)), v128.load(tb + c));
      let y1 = f32x4.add(f32x4.mul(lin1, v128.load(g + c, 16)), v128.load(tb + c, 16));
      let y2 = f32x4.add(f32x4.mul(lin2, v128.load(g + c, 32)), v128.load(tb + c, 32));
      let y3 = f32x4.add(f32x4.mul(lin3, v128.load(g + c, 48)), v128.load(tb + c, 48));
      if (act == TANH) {
        y0 = tanh4(y0);
        y1 = tanh4(y1);
        y2 = tanh4(y2);
        y3 = tanh4(y3);
      } else if (act != NONE) {
        y0 = activate4(act, y0);
        y1 = activate4(act, y1);
        y2 = activate4(act, y2);
        y3 = activate4(act, y3);
      }
      v128.store(or + c, y0);
      v128.store(or + c, y1, 16);
      v128.store(or + c, y2, 32);
      v128.store(or + c, y3, 48);
    }
    for (; j + 4 <= n; j += 4) {
      const c = <usize>j << 2;
      const lin = f32x4.add(v128.load(zr + c), v128.load(b + c));
      v128.store(zr + c, lin);
      const y = f32x4.add(f32x4.mul(lin, v128.load(g + c)), v128.load(tb + c));
      v128.store(or + c, activate4(act, y));
    }
    for (; j < n; j++) {
      const c = <usize>j << 2;
      const lin = load<f32>(zr + c) + load<f32>(b + c);
      store<f32>(zr + c, lin);
      const y = lin * load<f32>(g + c) + load<f32>(tb + c);
      store<f32>(or + c, activate1(act, y));
    }
  }
  for (let k = 1; k <= tangents; k++) {
    for (let r = 0; r < rows; r++) {
      const zr = z + (<usize>(k * rows + r)) * rowBytes;
      const or = out + (<usize>(k * rows + r)) * rowBytes;
      const hr = out + <usize>r * rowBytes;
      const lr = z + <usize>r * rowBytes; // the primal row's lin
      let j = 0;
      for (; j + 4 <= n; j += 4) {
        const c = <usize>j << 2;
        let d = f32x4.mul(v128.load(zr + c), v128.load(g + c));
        if (act == TANH) {
          const h = v128.load(hr + c);
          d = f32x4.mul(d, f32x4.sub(f32x4.splat(1), f32x4.mul(h, h)));
        } else if (act != NONE) {
          const y = f32x4.add(f32x4.mul(v128.load(lr + c), v128.load(g + c)), v128.load(tb + c));
          d = f32x4.mul(d, slope4(act, y, v128.load(hr + c)));
        }
        v128.store(or + c, d);
      }
      for (; j < n; j++) {
        const c = <usize>j << 2;
        let d = load<f32>(zr + c) * load<f32>(g + c);
        if (act != NONE) {
          const y = load<f32>(lr + c) * load<f32>(g + c) + load<f32>(tb + c);
          d *= slope1(act, y, load<f32>(hr + c));
        }
        store<f32>(or + c, d);
      }
    }
  }
}

/**
 * The elementwise backward pass of squashForwardStacked (before the products): dZ [(1+K)B, n]
 * holds [dz; dŻ] on entry and D = dZ ⊙ g on exit; dg = Σ_primal dz ⊙ lin + Σ_tangent dŻ ⊙ P and
 * dzSum = Σ_primal dz (n values each), with z = [lin; P] as squashForwardStacked left it.
 */
export function squashBackwardStacked(dZ: usize, z: usize, g: usize, dg: usize, dzSum: usize, rows: i32, tangents: i32, n: i32): void {
  const rowBytes = <usize>n << 2;
  memory.fill(dg, 0, rowBytes);
  memory.fill(dzSum, 0, rowBytes);
  const total = (1 + tangents) * rows;
  for (let r = 0; r < total; r++) {
    const dr = dZ + <usize>r * rowBytes;
    const zr = z + <usize>r * rowBytes;
    const primal = r < rows;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const c = <usize>j << 2;
      const d = v128.load(dr + c);
      v128.store(dg + c, f32x4.add(v128.load(dg + c), f32x4.mul(d, v128.load(zr + c))));
      if (primal) v128.store(dzSum + c, f32x4.add(v128.load(dzSum + c), d));
      v128.store(dr + c, f32x4.mul(d, v128.load(g + c)));
    }
    for (; j < n; j++) {
      const c = <usize>j << 2;
      const d = load<f32>(dr + c);
      store<f32>(dg + c, load<f32>(dg + c) + d * load<f32>(zr + c));
      if (primal) store<f32>(dzSum + c, load<f32>(dzSum + c) + d);
      store<f32>(dr + c, d * load<f32>(g + c));
    }
  }
}

/**
 * A layer's gradients for its n-vectors and its share of ∂/∂t, from dg and dzSum of
 * squashBackwardStacked: db = g ⊙ dzSum, dw_b = t dzSum, dgpre = dg ⊙ g(1 − g), dw_g = t dgpre,
 * db_g = dgpre; returns Σ dzSum ⊙ w_b + Σ dgpre ⊙ w_g.
 */
export function squashVectorGrads(t: f32, dg: usize, dzSum: usize, g: usize, gw: usize, bw: usize, db: usize, dgw: usize, dgb: usize, dbw: usize, n: i32): f64 {
  let dt: f64 = 0;
  for (let j = 0; j < n; j++) {
    const o = <usize>j << 2;
    const gate = load<f32>(g + o);
    const sum = load<f32>(dzSum + o);
    const dgpre = load<f32>(dg + o) * (gate * (1 - gate));
    store<f32>(db + o, gate * sum);
    store<f32>(dbw + o, t * sum);
    store<f32>(dgw + o, t * dgpre);
    store<f32>(dgb + o, dgpre);
    dt += <f64>(sum * load<f32>(bw + o)) + <f64>(dgpre * load<f32>(gw + o));
  }
  return dt;
}

/**
 * From dS = [da; dȧ] (the gradient of a hidden layer's stacked output) to the gradient of its
 * pre-activation, in place: with h the primal output, y = lin ⊙ g + tb its pre-activation (z holds
 * lin in the primal rows), s1 = φ'(y), s2 = φ''(y) and Ż_k = P_k ⊙ g the tangents before the
 * activation, da ← da ⊙ s1 + (Σ_k dȧ_k ⊙ Ż_k) ⊙ s2 and dȧ_k ← dȧ_k ⊙ s1.
 */
export function activationBackwardStacked(dS: usize, out: usize, z: usize, g: usize, tb: usize, rows: i32, tangents: i32, n: i32, act: i32): void {
  const rowBytes = <usize>n << 2;
  const block = <usize>rows * rowBytes;
  for (let r = 0; r < rows; r++) {
    const base = <usize>r * rowBytes;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const c = base + (<usize>j << 2);
      const h = v128.load(out + c);
      const gv = v128.load(g + (<usize>j << 2));
      let s1: v128;
      let s2: v128;
      if (act == TANH) {
        s1 = f32x4.sub(f32x4.splat(1), f32x4.mul(h, h));
        s2 = f32x4.mul(f32x4.mul(f32x4.splat(-2), h), s1);
      } else {
        const y = f32x4.add(f32x4.mul(v128.load(z + c), gv), v128.load(tb + (<usize>j << 2)));
        s1 = slope4(act, y, h);
        s2 = curvature4(act, y, h);
      }
      let curvature = f32x4.splat(0);
      for (let k = 1; k <= tangents; k++) {
        const at = c + <usize>k * block;
        const d = v128.load(dS + at);
        curvature = f32x4.add(curvature, f32x4.mul(d, f32x4.mul(v128.load(z + at), gv)));
        v128.store(dS + at, f32x4.mul(d, s1));
      }
      v128.store(dS + c, f32x4.add(f32x4.mul(v128.load(dS + c), s1), f32x4.mul(curvature, s2)));
    }
    for (; j < n; j++) {
      const c = base + (<usize>j << 2);
      const h = load<f32>(out + c);
      const gv = load<f32>(g + (<usize>j << 2));
      const y = load<f32>(z + c) * gv + load<f32>(tb + (<usize>j << 2));
      const s1 = slope1(act, y, h);
      const s2 = curvature1(act, y, h);
      let curvature: f32 = 0;
      for (let k = 1; k <= tangents; k++) {
        const at = c + <usize>k * block;
        const d = load<f32>(dS + at);
        curvature += d * (load<f32>(z + at) * gv);
        store<f32>(dS + at, d * s1);
      }
      store<f32>(dS + c, load<f32>(dS + c) * s1 + curvature * s2);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The assignment problem for OT-CFM's couplings: src/train/ot_coupling.ts has the same algorithm in
// JavaScript (and its description); here it runs ~1.7x faster.

/**
 * Solves the n×n assignment problem for cost (float64, row-major): column reduction, then shortest
 * augmenting paths with dual potentials (Jonker–Volgenant in Crouse's form). f64s holds 3n float64
 * (u, v, path lengths), i32s 6n int32 (col4row, row4col, path, unreached columns, visited rows and
 * columns); on return i32s starts with col4row, the column matched to each row.
 */
export function assignment(cost: usize, n: i32, f64s: usize, i32s: usize): void {
  const nb8 = <usize>n << 3;
  const nb4 = <usize>n << 2;
  const u = f64s;
  const v = f64s + nb8;
  const shortest = f64s + 2 * nb8;
  const col4row = i32s;
  const row4col = i32s + nb4;
  const path = i32s + 2 * nb4;
  const remaining = i32s + 3 * nb4;
  const seenRows = i32s + 4 * nb4;
  const seenCols = i32s + 5 * nb4;
  for (let j = 0; j < n; j++) {
    store<f64>(u + (<usize>j << 3), 0);
    store<i32>(col4row + (<usize>j << 2), -1);
    store<i32>(row4col + (<usize>j << 2), -1);
  }
  for (let j = 0; j < n; j++) {
    let best = 0;
    let lowest = Infinity;
    for (let i = 0; i < n; i++) {
      const c = load<f64>(cost + (<usize>(i * n + j) << 3));
      if (c < lowest) {
        lowest = c;
        best = i;
      }
    }
    store<f64>(v + (<usize>j << 3), lowest);
    if (load<i32>(col4row + (<usize>best << 2)) == -1) {
      store<i32>(col4row + (<usize>best << 2), j);
      store<i32>(row4col + (<usize>j << 2), best);
    }
  }
  for (let start = 0; start < n; start++) {
    if (load<i32>(col4row + (<usize>start << 2)) != -1) continue;
    for (let j = 0; j < n; j++) {
      store<f64>(shortest + (<usize>j << 3), Infinity);
      store<i32>(remaining + (<usize>j << 2), n - 1 - j);
    }
    let left = n;
    let minVal: f64 = 0;
    let sink = -1;
    let i = start;
    let rowsSeen = 0;
    let colsSeen = 0;
    while (sink == -1) {
      store<i32>(seenRows + (<usize>rowsSeen << 2), i);
      rowsSeen++;
      let best = -1;
      let lowest = Infinity;
      const row = cost + (<usize>(i * n) << 3);
      const base = minVal - load<f64>(u + (<usize>i << 3));
      for (let k = 0; k < left; k++) {
        const j = load<i32>(remaining + (<usize>k << 2));
        const jo = <usize>j << 3;
        let reach = load<f64>(shortest + jo);
        const r = base + load<f64>(row + jo) - load<f64>(v + jo);
        if (r < reach) {
          store<i32>(path + (<usize>j << 2), i);
          store<f64>(shortest + jo, r);
          reach = r;
        }
        if (reach < lowest || (reach == lowest && load<i32>(row4col + (<usize>j << 2)) == -1)) {
          lowest = reach;
          best = k;
        }
      }
      if (best < 0 || lowest == Infinity) return; // a NaN or infinite cost: the caller checks col4row
      minVal = lowest;
      const j = load<i32>(remaining + (<usize>best << 2));
      store<i32>(seenCols + (<usize>colsSeen << 2), j);
      colsSeen++;
      left--;
      store<i32>(remaining + (<usize>best << 2), load<i32>(remaining + (<usize>left << 2)));
      const owner = load<i32>(row4col + (<usize>j << 2));
      if (owner == -1) sink = j;
      else i = owner;
    }
    store<f64>(u + (<usize>start << 3), load<f64>(u + (<usize>start << 3)) + minVal);
    for (let k = 0; k < rowsSeen; k++) {
      const r = load<i32>(seenRows + (<usize>k << 2));
      if (r != start) {
        const c = load<i32>(col4row + (<usize>r << 2));
        store<f64>(u + (<usize>r << 3), load<f64>(u + (<usize>r << 3)) + minVal - load<f64>(shortest + (<usize>c << 3)));
      }
    }
    for (let k = 0; k < colsSeen; k++) {
      const c = load<i32>(seenCols + (<usize>k << 2));
      store<f64>(v + (<usize>c << 3), load<f64>(v + (<usize>c << 3)) - (minVal - load<f64>(shortest + (<usize>c << 3))));
    }
    let j = sink;
    while (true) {
      const r = load<i32>(path + (<usize>j << 2));
      store<i32>(row4col + (<usize>j << 2), r);
      const previous = load<i32>(col4row + (<usize>r << 2));
      store<i32>(col4row + (<usize>r << 2), j);
      j = previous;
      if (r == start) break;
    }
  }
}
