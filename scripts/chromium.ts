/**
 * Headless Chromium for the browser tests and the browser benchmark: Debian's package (or
 * `CHROMIUM_PATH`), driven by playwright-core, which never downloads a browser here.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Where Chromium is looked for: `CHROMIUM_PATH`, else Debian's `/usr/bin/chromium`. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The launch flags: headless, no sandbox (containers), no GPU, nothing fetched from the network. */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * Whether a browser test can run: true when Chromium is installed; otherwise it warns and returns
 * false (skip), unless `CNFKIT_REQUIRE_BROWSER=1` (CI, after installing Chromium), where it throws.
 * @param who - the test file, for the warning
 */
export function chromiumAvailable(who: string): boolean {
  const available = existsSync(CHROMIUM_PATH);
  if (!available && process.env.CNFKIT_REQUIRE_BROWSER === '1') throw new Error(`CNFKIT_REQUIRE_BROWSER=1, but there is no Chromium at ${CHROMIUM_PATH}`);
  if (!available) console.warn(`${who}: no Chromium at ${CHROMIUM_PATH}; the browser test is skipped (set CHROMIUM_PATH, or install Debian's chromium)`);
  return available;
}

/** Starts headless Chromium with {@link CHROMIUM_ARGS}. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}
