// Debian's Chromium driven by playwright-core, for the web application's tests and bench: where
// it is, whether it is there (a missing browser fails under CI=true), and screenshots that name
// their files so a person can look at them.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.COMMANDER_CHROMIUM ?? '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);

/** Screenshots land here (ignored by git). */
export const SCREENSHOTS = fileURLToPath(new URL('../../test-output/web/', import.meta.url));

export async function launchChromium(): Promise<Browser> {
  if (!haveChromium)
    throw new Error(`Chromium is required (apt-get install chromium); not found at ${CHROMIUM}`);
  // --no-sandbox: the tests run as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
}

/** Saves a full-page screenshot as <prefix>-<n>-<name>.png and prints its path. */
export function screenshots(prefix: string) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  let n = 0;
  return async (page: Page, name: string): Promise<string> => {
    n++;
    const path = join(SCREENSHOTS, `${prefix}-${String(n).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path, fullPage: true });
    console.log(`screenshot: ${path}`);
    return path;
  };
}
