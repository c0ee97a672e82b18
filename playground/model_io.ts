/**
 * The model as files for a download, made in the worker: `downloads://` needs a document, so the
 * worker receives the artifacts through `tf.io.withSaveHandler` and the page saves them. The two
 * files are the pair `downloads://name` writes, and `CNF.load(tf.io.browserFiles([json, weights]))`
 * reads them back.
 */
import { type CNF, tf } from '../src/index.browser.js';

/** `name.json` (tf.io model JSON naming `name.weights.bin`) and the weights. */
export async function modelFiles(flow: CNF, name: string): Promise<{ json: string; weights: ArrayBuffer }> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await flow.save(
    tf.io.withSaveHandler(async (given) => {
      artifacts = given;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(given) };
    }),
  );
  const { modelTopology, format, generatedBy, convertedBy, weightSpecs, weightData } = artifacts!;
  const parts = weightData === undefined ? [] : Array.isArray(weightData) ? weightData : [weightData];
  const weights = parts.length === 1 ? (parts[0] as ArrayBuffer).slice(0) : tf.io.concatenateArrayBuffers(parts as ArrayBuffer[]);
  const json: tf.io.ModelJSON = { modelTopology: modelTopology as object, format, generatedBy, convertedBy, weightsManifest: [{ paths: [`./${name}.weights.bin`], weights: weightSpecs ?? [] }] };
  return { json: JSON.stringify(json), weights };
}
