import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { REPO } from "../helpers/node-process.js";

/**
 * Debian's chromium (what .ci/run installs with apt-get), or the one LOTCHAIN_CHROMIUM names.
 * Undefined when there is none: the browser tests are then skipped with one line saying how to
 * install it.
 */
export function findChromium(): string | undefined {
  const candidates = [
    process.env.LOTCHAIN_CHROMIUM,
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
  ];
  return candidates.find((path) => path && existsSync(path));
}

export const NO_CHROMIUM =
  "browser tests skipped: no chromium found (install it with `apt-get install -y chromium`, or set LOTCHAIN_CHROMIUM)";

/** Screenshots are kept here as test output (git ignores it). */
export const SCREENSHOTS = join(REPO, "test-output", "browser");

export interface Browser {
  context: BrowserContext;
  /** console errors and page errors seen on every page, with the page's URL */
  errors: string[];
  newPage(width?: number): Promise<Page>;
  screenshot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
}

/** Headless chromium with a fresh profile directory, removed on close. */
export async function launchBrowser(executablePath: string): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "lotchain-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
    viewport: { width: 1280, height: 900 },
  });
  const errors: string[] = [];
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    context,
    errors,
    async newPage(width = 1280) {
      const page = await context.newPage();
      await page.setViewportSize({ width, height: 900 });
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(`${page.url()}: console: ${m.text()}`);
      });
      page.on("pageerror", (e) => errors.push(`${page.url()}: ${e.message}`));
      return page;
    },
    async screenshot(page, name) {
      const path = join(SCREENSHOTS, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
