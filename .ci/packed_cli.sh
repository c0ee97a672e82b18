#!/usr/bin/env bash
# Smoke test of the package as a user installs it: pack, install into an empty project, run the
# `cnfkit` bin and import the library.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tarball="$(cd "$root" && npm pack --silent --pack-destination "$work" | tail -1)"
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund "$work/$tarball" >/dev/null
# The installed bin's start-up time, printed on every run; the bound is generous (a hang or a
# network lookup would exceed it, a slow CI machine would not).
started=$(date +%s%N)
./node_modules/.bin/cnfkit --help | grep -q 'usage: cnfkit <command>'
elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
echo "packed cnfkit: 'cnfkit --help' started in ${elapsed_ms} ms"
if [ "$elapsed_ms" -gt 5000 ]; then
  echo "packed cnfkit: 'cnfkit --help' took ${elapsed_ms} ms (more than 5 s)" >&2
  exit 1
fi
cat > smoke.mjs <<'JS'
import { CNF, ready, odeint, tf } from 'cnfkit';
await ready({ verbose: false });
const y = odeint((t, y) => tf.neg(y), tf.ones([1]), [0, 1]).dataSync()[1];
if (Math.abs(y - Math.exp(-1)) > 1e-5) throw new Error(`installed cnfkit: y(1) = ${y}`);
// The Node entry (package.json exports' `node` condition) saves and loads model folders.
const flow = new CNF({ dim: 2, hiddenDims: [4] });
await flow.save('smoke-model');
const back = await CNF.load('smoke-model');
const x = tf.tensor2d([[0.1, 0.2]]);
if (flow.logProb(x).dataSync()[0] !== back.logProb(x).dataSync()[0]) throw new Error('installed cnfkit: save/load changed logProb');
// 'cnfkit/node' names the Node entry explicitly (for builds that resolve the browser one).
const node = await import('cnfkit/node');
if (node.CNF !== CNF) throw new Error("installed cnfkit: 'cnfkit/node' is not the same module as 'cnfkit' in Node");
console.log('packed cnfkit: bin, import and save/load work');
JS
node smoke.mjs

# A consumer's browser build of the installed package (package.json exports' default entry): esbuild
# and webpack from this repository's devDependencies, with no externals; each bundle is then run in
# headless Chromium (a bundle that builds can still fail as it loads: webpack once evaluated tfjs's
# gradient files before tfjs-core's flags).
cat > page.mjs <<'JS'
import { odeint, ready, tf } from 'cnfkit';
(async () => {
  try {
    const info = await ready({ backend: 'cpu', verbose: false });
    const y = odeint((t, y) => tf.neg(y), tf.ones([1]), [0, 1]).dataSync()[1];
    document.body.textContent = `cnfkit ran on ${info.name}: y(1) = ${y.toFixed(5)}`;
  } catch (e) {
    document.body.textContent = `cnfkit failed: ${e}`;
  }
})();
JS
"$root/node_modules/.bin/esbuild" page.mjs --bundle --platform=browser --format=iife --log-level=error --outfile=esbuild-out/main.js
cat > webpack.mjs <<JS
import webpack from '$root/node_modules/webpack/lib/index.js';
webpack({ mode: 'production', target: 'web', context: process.cwd(), entry: './page.mjs', output: { path: process.cwd() + '/webpack-out' }, performance: { hints: false } }, (err, stats) => {
  if (err || stats.hasErrors()) { console.error(err ?? stats.toString('errors-only')); process.exit(1); }
});
JS
node webpack.mjs
echo "packed cnfkit: browser bundles from the package: esbuild $(wc -c < esbuild-out/main.js) bytes, webpack $(cat webpack-out/*.js | wc -c) bytes (minified)"
chromium_path="${CHROMIUM_PATH:-$(command -v chromium || true)}"
if [ -z "$chromium_path" ]; then
  [ "${CNFKIT_REQUIRE_BROWSER:-}" = 1 ] && { echo "packed cnfkit: CNFKIT_REQUIRE_BROWSER=1 but no Chromium" >&2; exit 1; }
  echo "packed cnfkit: no Chromium here; the bundles were built but not run"
  exit 0
fi
for bundler in esbuild webpack; do
  echo '<!doctype html><meta charset="utf-8"><body>not run</body><script src="main.js"></script>' > "$bundler-out/index.html"
  dom="$("$chromium_path" --headless --no-sandbox --disable-gpu --no-first-run --virtual-time-budget=30000 --dump-dom "file://$work/$bundler-out/index.html" 2>/dev/null || true)"
  body="$(echo "$dom" | sed -n 's:.*<body>\([^<]*\).*:\1:p')"
  if [ "$body" != "cnfkit ran on cpu: y(1) = 0.36788" ]; then
    echo "packed cnfkit: the $bundler bundle did not run in Chromium; the page reads: ${dom:0:300}" >&2
    exit 1
  fi
  echo "packed cnfkit: the $bundler bundle runs in headless Chromium ($body)"
done
