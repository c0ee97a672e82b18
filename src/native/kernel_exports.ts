/** cnfkit's wasm kernels (native/kernels.ts) as an instance exports them; every pointer is a byte offset into the instance's memory. */
export interface KernelExports {
  sigmoidArray(src: number, dst: number, n: number): void;
  tanhArray(src: number, dst: number, n: number): void;
  activationArray(src: number, dst: number, n: number, act: number): void;
  mmNN(a: number, b: number, c: number, m: number, k: number, n: number, accumulate: boolean): void;
  mmNT(a: number, bt: number, c: number, m: number, k: number, n: number): void;
  mmTN(a: number, d: number, c: number, m: number, k: number, n: number, accumulate: boolean): void;
  transpose(src: number, dst: number, rows: number, cols: number): void;
  addInto(dst: number, src: number, n: number): void;
  squashForwardRows(z: number, g: number, out: number, pre: number, t: number, b: number, gw: number, gb: number, bw: number, m: number, n: number, act: number): void;
  squashBackwardRows(dy: number, lin: number, g: number, t: number, dlin: number, db: number, dgw: number, dgb: number, dbw: number, m: number, n: number): void;
  activationBackward(dx: number, h: number, pre: number, n: number, act: number): void;
  squaredErrorGrad(f: number, target: number, dy: number, m: number, n: number): number;
  squashGate(t: number, gw: number, gb: number, bw: number, g: number, tb: number, n: number): void;
  squashForwardStacked(z: number, out: number, g: number, b: number, tb: number, rows: number, tangents: number, n: number, act: number): void;
  squashBackwardStacked(dZ: number, z: number, g: number, dg: number, dzSum: number, rows: number, tangents: number, n: number): void;
  squashVectorGrads(t: number, dg: number, dzSum: number, g: number, gw: number, bw: number, db: number, dgw: number, dgb: number, dbw: number, n: number): number;
  activationBackwardStacked(dS: number, out: number, z: number, g: number, tb: number, rows: number, tangents: number, n: number, act: number): void;
  assignment(cost: number, n: number, f64s: number, i32s: number): void;
  adamUpdate(p: number, g: number, mo: number, v: number, scratch: number, n: number, stepSize: number, beta1: number, beta2: number, epsilon: number, weightDecay: number, bias2: number): number;
}
