/**
 * Debian's chromium driven by playwright-core, never a downloaded browser build. Each page
 * records what a person would not see: console errors and warnings (CSP violations among
 * them), uncaught exceptions, and requests to anywhere but the gateway.
 */
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { type Browser, chromium, type Page } from "playwright-core";
import { findProgram, requireProgram } from "../helpers/programs.js";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Chromium from the Debian package, or null (the test is skipped loudly, or fails in CI). */
export async function launchChromium(t: TestContext): Promise<Browser | null> {
  if (!requireProgram(t, "chromium", "chromium")) return null;
  return launch(findProgram("chromium") as string);
}

export function launch(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS, timeout: 30_000 });
}

export interface WatchedPage {
  page: Page;
  /** Console errors and warnings, page errors, requests elsewhere, in order. */
  problems: string[];
  /**
   * Asserts nothing went wrong in the page, but the failed requests the test provoked: Chromium
   * logs "Failed to load resource: … status of 409" for each (the API's answers).
   */
  assertClean(expectedStatuses?: readonly number[]): void;
  close(): Promise<void>;
}

const FAILED_LOAD = /^Failed to load resource: the server responded with a status of (\d{3})\b/;

/** A new browser context (its own session storage) and page, at `width` x `height`. */
export async function openPage(
  browser: Browser,
  origin: string,
  viewport = { width: 1280, height: 900 },
): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") {
      problems.push(`console ${message.type()}: ${message.text()}`);
    }
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith(`${origin}/`) && !url.startsWith("data:")) {
      problems.push(`request elsewhere: ${url}`);
    }
  });
  return {
    page,
    problems,
    assertClean(expectedStatuses = []) {
      const unexpected = problems.filter((p) => {
        const failed = FAILED_LOAD.exec(p.replace(/^console error: /, ""));
        return failed === null || !expectedStatuses.includes(Number(failed[1]));
      });
      assert.deepEqual(unexpected, [], "nothing went wrong in the page");
    },
    close: () => context.close(),
  };
}

/** Signs in through the form: the token alone (the API says whose it is). */
export async function signIn(page: Page, origin: string, token: string): Promise<void> {
  await page.goto(`${origin}/console/`);
  await page.getByLabel("Token", { exact: true }).fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
}
