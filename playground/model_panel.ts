/**
 * The Model section of the page: save to and load from this browser (IndexedDB), download the model
 * as files, and open such files again. The worker does the work (it holds the flow); this side picks
 * names and files and hands the downloads to the browser.
 */
import { $, input } from './dom.js';
import type { ModelSummary } from './protocol.js';
import type { TrainerClient } from './trainer_client.js';

/** What the panel needs of the page. */
export interface ModelPanelPage {
  client: TrainerClient;
  status(text: string): void;
  updateControls(): void;
  /** A model was loaded: forget the last run's curve and figures, and show the new model. */
  loaded(summary: ModelSummary): Promise<void>;
}

const validName = (name: string) => /^[\w.-]{1,64}$/.test(name);

export class ModelPanel {
  constructor(private readonly page: ModelPanelPage) {}

  /** The name field's value, checked. */
  name(): string {
    const name = input('model-name').value.trim();
    if (!validName(name)) throw new Error('A model name is 1-64 letters, digits, dots, dashes or underscores');
    return name;
  }

  /** Fills the list of saved models (and selects `select`). */
  async refresh(select?: string): Promise<void> {
    const names = await this.page.client.request('list', {});
    const saved = $<HTMLSelectElement>('saved');
    saved.replaceChildren(new Option(names.length ? 'saved models' : 'none saved yet', ''), ...names.map((n) => new Option(n, n)));
    if (select && names.includes(select)) saved.value = select;
    this.page.updateControls();
  }

  async save(name = this.name()): Promise<void> {
    await this.page.client.request('save', { name });
    await this.refresh(name);
    this.page.status(`Saved '${name}' in this browser (IndexedDB).`);
  }

  async load(name = $<HTMLSelectElement>('saved').value): Promise<void> {
    await this.page.loaded(await this.page.client.request('load', { name }));
    input('model-name').value = name;
  }

  /** Downloads `name.json` and `name.weights.bin`, the pair `downloads://name` writes. */
  async download(): Promise<void> {
    const name = this.name();
    const { json, weights } = await this.page.client.request('export', { name });
    const files = [
      [`${name}.json`, new Blob([json], { type: 'application/json' })],
      [`${name}.weights.bin`, new Blob([weights], { type: 'application/octet-stream' })],
    ] as const;
    for (const [file, blob] of files) {
      const link = Object.assign(document.createElement('a'), { href: URL.createObjectURL(blob), download: file });
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    }
    this.page.status(`Downloading ${name}.json and ${name}.weights.bin; open both together to load the model again.`);
  }

  /** Loads a model from a picked .json and its weights file. */
  async open(files: File[]): Promise<void> {
    const json = files.find((f) => f.name.endsWith('.json'));
    const weights = files.filter((f) => f !== json);
    if (!json || weights.length !== 1) throw new Error(`Pick two files together: the model's .json and its .weights.bin (got ${files.map((f) => f.name).join(', ') || 'none'})`);
    await this.page.loaded(await this.page.client.request('loadFiles', { files: [json, weights[0]] }));
  }
}
