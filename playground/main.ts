/**
 * The playground page: the controls, the pictures and the model buttons. Everything that needs
 * cnfkit runs in the worker (worker.ts); this file only sends it requests and draws what it posts,
 * so the page stays responsive while a flow trains. The test hook is in hook.ts.
 */
import { $, input } from './dom.js';
import { enableDrawing } from './drawing.js';
import { installHook } from './hook.js';
import { ModelPanel } from './model_panel.js';
import { Plot, cornerLabel, densityImage, drawDensity, drawFlow, drawLossCurve } from './plots.js';
import type { ModelSummary, ModelView, TrainSettings, TrainSummary, WorkerInfo } from './protocol.js';
import { TrainerClient } from './trainer_client.js';
import type { Objective, ToyDataset } from '../src/index.browser.js';

/** Defaults per objective: flow matching trains in seconds; maximum likelihood solves ODEs each step. */
const DEFAULTS: Record<Objective, { iterations: number; batchSize: number; learningRate: number }> = {
  'flow-matching': { iterations: 3000, batchSize: 256, learningRate: 0.003 },
  'maximum-likelihood': { iterations: 400, batchSize: 100, learningRate: 0.001 },
};
const DRAW = 'draw';
const TRAINING_POINTS = 20_000;
const HELD_OUT = { n: 2000, seed: 12345 };
const FINAL_GRID = 72;
/** How long Stop waits for the worker's answer before ending it (it answers between iterations). */
const STOP_PATIENCE_MS = 2000;
/** Why a restarted worker's requests failed: shown as the status, not as an error. */
const RESTARTED =
  'Stopped. The worker was inside one long computation (a field made stiff by a high learning rate can take thousands of solver steps per picture), so it was ended and restarted; the model it was training is gone.';

const state = {
  info: undefined as WorkerInfo | undefined,
  objective: 'flow-matching' as Objective,
  source: '8gaussians' as ToyDataset | typeof DRAW,
  toyPoints: new Float32Array(0) as Float32Array,
  drawn: [] as number[],
  losses: [] as number[],
  totalIterations: 0,
  view: undefined as ModelView | undefined,
  density: undefined as HTMLCanvasElement | undefined,
  model: undefined as ModelSummary | undefined,
  training: false,
  errors: [] as string[],
};

const dataPlot = new Plot($<HTMLCanvasElement>('data-canvas'));
const modelPlot = new Plot($<HTMLCanvasElement>('model-canvas'));
const lossCanvas = $<HTMLCanvasElement>('loss-canvas');

function status(text: string, isError = false): void {
  const line = $('status');
  line.textContent = text;
  line.classList.toggle('error', isError);
  if (isError) state.errors.push(text);
}

const fail = (e: unknown) => {
  const message = (e as Error)?.message ?? String(e);
  status(message, message !== RESTARTED);
};

const client = new TrainerClient((event) => {
  if (event.event === 'progress') {
    state.losses.push(...event.losses);
    $('stat-iteration').textContent = `${event.iteration} / ${event.iterations}`;
    $('stat-loss').textContent = event.losses[event.losses.length - 1].toFixed(3);
    $('stat-rate').textContent = Math.round(event.stepsPerSecond).toLocaleString('en');
    $('progress-bar').style.width = `${(100 * event.iteration) / event.iterations}%`;
    lossDirty = true;
  } else if (event.event === 'view') {
    state.view = event.view;
    state.density = densityImage(event.view.logp, event.view.grid);
    // The last pictures play the flow from its start; live ones keep the running clock.
    if (event.view.final) flowClock = performance.now();
    modelDirty = true;
  } else {
    state.model = event.model;
    const { hiddenDims, parameters, endTimes, origin } = event.model;
    $('model-line').innerHTML = `<strong>2→${hiddenDims.join('→')}→2</strong>, ${parameters.toLocaleString('en')} parameters, T = ${endTimes.map((t) => t.toFixed(2)).join(', ')}<br>${escapeHtml(origin)}`;
  }
  updateControls();
}, fail);

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function trainingPoints(): Float32Array {
  return state.source === DRAW ? Float32Array.from(state.drawn) : state.toyPoints;
}

function drawData(): void {
  dataPlot.resize();
  dataPlot.backdrop();
  const drawing = state.source === DRAW;
  const points = drawing ? state.drawn : state.toyPoints.subarray(0, 2 * 3000);
  dataPlot.points(points, 'rgba(143, 216, 255, 0.55)', drawing ? 1.4 : 1.2);
  if (drawing && state.drawn.length === 0) dataPlot.note('Press and drag to draw points');
  $('data-caption').textContent = drawing ? `${state.drawn.length / 2} drawn points` : `${state.source}, ${TRAINING_POINTS.toLocaleString('en')} points (3,000 shown)`;
  $('draw-count').textContent = `${state.drawn.length / 2} points`;
}

/** The model square: density, samples and the flow's paths; animated while `flow` is on. */
function drawModel(now: number): void {
  const animated = state.view !== undefined && input('show-flow').checked;
  if (!modelPlot.resize() && !modelDirty && !animated) return;
  modelDirty = false;
  modelPlot.backdrop();
  const view = state.view;
  if (!view) return modelPlot.note(state.training ? 'training…' : 'Press Train to fit a flow');
  const showDensity = input('show-density').checked;
  if (showDensity && state.density) drawDensity(modelPlot, state.density);
  if (input('show-samples').checked) modelPlot.points(view.samples, showDensity ? 'rgba(255, 255, 255, 0.55)' : 'rgba(245, 165, 36, 0.6)', 1.1);
  if (input('show-flow').checked) {
    // 0.6 s at the base, 2.6 s on the way, 1.4 s at the data.
    const t = ((now - flowClock) / 1000) % 4.6;
    const u = Math.min(1, Math.max(0, (t - 0.6) / 2.6));
    const progress = u < 0.5 ? 2 * u * u : 1 - 2 * (1 - u) * (1 - u);
    drawFlow(modelPlot, view, progress, showDensity);
    cornerLabel(modelPlot, 'noise → data', progress);
  }
}

let lossDirty = true;
let modelDirty = true;
let flowClock = 0;
function frame(now: number): void {
  drawModel(now);
  if (lossDirty) {
    drawLossCurve(lossCanvas, state.losses, state.totalIterations);
    lossDirty = false;
  }
  requestAnimationFrame(frame);
}

function updateControls(): void {
  const busy = state.training;
  const ready = state.info !== undefined;
  $<HTMLButtonElement>('train').disabled = busy || !ready;
  $<HTMLButtonElement>('stop').disabled = !busy;
  for (const id of ['dataset', 'iterations', 'batch', 'lr', 'seed', 'clear']) ($(id) as HTMLInputElement).disabled = busy || !ready;
  for (const b of document.querySelectorAll<HTMLButtonElement>('.segmented button')) b.disabled = busy;
  $<HTMLButtonElement>('save').disabled = busy || !state.model;
  $<HTMLButtonElement>('download').disabled = busy || !state.model;
  $<HTMLButtonElement>('load').disabled = busy || !$<HTMLSelectElement>('saved').value;
  input('open-files').disabled = busy || !ready;
}

function setObjective(objective: Objective): void {
  state.objective = objective;
  for (const b of document.querySelectorAll<HTMLButtonElement>('.segmented button')) b.setAttribute('aria-checked', String(b.dataset.objective === objective));
  const d = DEFAULTS[objective];
  input('iterations').value = String(d.iterations);
  input('batch').value = String(d.batchSize);
  input('lr').value = String(d.learningRate);
  $('loss-label').textContent = objective === 'flow-matching' ? 'Loss (regression)' : 'Loss (NLL, nats)';
}

async function chooseSource(source: ToyDataset | typeof DRAW): Promise<void> {
  state.source = source;
  $<HTMLSelectElement>('dataset').value = source;
  $('draw-tools').hidden = source !== DRAW;
  dataPlot.canvas.classList.toggle('drawing', source === DRAW);
  if (source !== DRAW) state.toyPoints = await client.request('toyPoints', { dataset: source, n: TRAINING_POINTS, seed: Number(input('seed').value) || 0 });
  drawData();
}

/** A number field's value, or an error naming the field and what it must be. */
function readNumber(id: string, label: string, expected: string, check: (v: number) => boolean): number {
  const text = input(id).value.trim();
  const value = Number(text);
  if (text === '' || !check(value)) throw new Error(`${label} must be ${expected}, but is '${text}'`);
  return value;
}

async function train(): Promise<TrainSummary> {
  const points = trainingPoints();
  if (points.length / 2 < 50) throw new Error(`Draw some more points first (${points.length / 2} so far; at least 50)`);
  const positive = (v: number) => Number.isInteger(v) && v > 0;
  const settings: TrainSettings = {
    points: points.slice(),
    objective: state.objective,
    iterations: readNumber('iterations', 'Iterations', 'a whole number ≥ 1', positive),
    batchSize: readNumber('batch', 'Batch', 'a whole number ≥ 1', positive),
    learningRate: readNumber('lr', 'Learning rate', 'between 0 and 1', (v) => v > 0 && v < 1),
    seed: readNumber('seed', 'Seed', 'a whole number', (v) => Number.isInteger(v)),
    ...(state.source !== DRAW ? { heldOut: { dataset: state.source, ...HELD_OUT } } : {}),
  };
  Object.assign(state, { training: true, losses: [], totalIterations: settings.iterations, view: undefined, density: undefined });
  lossDirty = modelDirty = true;
  $('stat-nll').textContent = '–';
  $('stat-entropy').textContent = '';
  status(`Training on ${points.length / 2} points by ${state.objective.replace('-', ' ')}…`);
  updateControls();
  try {
    const summary = await client.request('train', { settings }, [settings.points.buffer as ArrayBuffer]);
    const rate = `${summary.iterations} iterations in ${summary.trainSeconds.toFixed(1)} s of training (${Math.round(summary.stepsPerSecond).toLocaleString('en')} steps/s)`;
    const entropy = state.source !== DRAW ? state.info?.entropy[state.source] : undefined;
    if (state.source === DRAW) $('stat-entropy').textContent = 'for toy sets only';
    if (summary.heldOutNll !== undefined) {
      $('stat-nll').textContent = `${summary.heldOutNll.toFixed(3)} nats`;
      $('stat-entropy').textContent = entropy !== undefined ? `best possible ≈ ${entropy.toFixed(3)}` : `on ${HELD_OUT.n} fresh points`;
    }
    status(`${summary.stopped ? 'Stopped after' : 'Trained'} ${rate}.${summary.heldOutNll !== undefined ? ` Held-out NLL ${summary.heldOutNll.toFixed(3)} nats.` : ''}`);
    return summary;
  } finally {
    state.training = false;
    updateControls();
  }
}

/** A loaded model replaces the last run: its curve and figures go, its pictures come. */
async function loaded(summary: ModelSummary): Promise<void> {
  Object.assign(state, { losses: [], totalIterations: 0 });
  lossDirty = true;
  for (const id of ['stat-iteration', 'stat-loss', 'stat-rate', 'stat-nll']) $(id).textContent = '–';
  $('stat-entropy').textContent = '';
  await client.request('view', { grid: FINAL_GRID });
  status(`Model ${summary.origin}.`);
}

const models = new ModelPanel({ client, status, updateControls, loaded });

/** The Stop button: the worker stops at its next iteration, or, busy past our patience, is restarted. */
async function stop(): Promise<void> {
  const answered = await Promise.race([client.request('stop', {}).then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), STOP_PATIENCE_MS))]);
  if (answered) return;
  client.restart(RESTARTED); // train()'s request is rejected: its finally makes the page idle
  Object.assign(state, { model: undefined, view: undefined, density: undefined });
  modelDirty = true;
  $('model-line').textContent = 'No model: the worker was restarted.';
  status(RESTARTED);
  updateControls();
}

function wire(): void {
  $('train').addEventListener('click', () => train().catch(fail));
  $('stop').addEventListener('click', () => stop().catch(fail));
  for (const b of document.querySelectorAll<HTMLButtonElement>('.segmented button')) b.addEventListener('click', () => setObjective(b.dataset.objective as Objective));
  $<HTMLSelectElement>('dataset').addEventListener('change', (e) => chooseSource((e.target as HTMLSelectElement).value as ToyDataset).catch(fail));
  input('seed').addEventListener('change', () => state.source !== DRAW && chooseSource(state.source).catch(fail));
  $('clear').addEventListener('click', () => {
    state.drawn.length = 0;
    drawData();
  });
  $('save').addEventListener('click', () => models.save().catch(fail));
  $('download').addEventListener('click', () => models.download().catch(fail));
  $('load').addEventListener('click', () => models.load().catch(fail));
  $('saved').addEventListener('change', updateControls);
  for (const id of ['show-density', 'show-samples', 'show-flow']) input(id).addEventListener('change', () => (modelDirty = true));
  input('open-files').addEventListener('change', (e) => {
    const picker = e.target as HTMLInputElement;
    models.open([...(picker.files ?? [])]).catch(fail).finally(() => (picker.value = ''));
  });
  enableDrawing(dataPlot, state.drawn, () => state.source === DRAW && !state.training, drawData);
  new ResizeObserver(() => {
    drawData();
    lossDirty = true;
  }).observe(dataPlot.canvas);
}

async function start(): Promise<void> {
  wire();
  setObjective('flow-matching');
  updateControls();
  drawData();
  requestAnimationFrame(frame);
  const info = await client.request('info', {});
  state.info = info;
  const { backend } = info;
  const chips: [string, boolean][] = [
    [`backend ${backend.name}`, backend.name === 'wasm'],
    [backend.simd ? 'SIMD' : 'no SIMD', backend.simd === true],
    [backend.threads ? 'tfjs threads' : 'tfjs 1 thread', true],
    [`kernels ${backend.kernels}, ${backend.kernelThreads}`, backend.kernels === 'in use'],
  ];
  $('backend').replaceChildren(...chips.map(([text, good]) => Object.assign(document.createElement('span'), { className: `chip ${good ? 'good' : 'warn'}`, textContent: text, title: backend.reason })));
  const sources = $<HTMLSelectElement>('dataset');
  sources.replaceChildren(...info.datasets.map((d) => new Option(d, d)), new Option('✎ draw your own', DRAW));
  await chooseSource('8gaussians');
  await models.refresh();
  updateControls();
  installHook({ state, client, setObjective, chooseSource, train, stop, models });
}

start().catch(fail);
