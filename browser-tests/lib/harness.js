// Test harness of the portal's browser tests: starts a real scimd (the cargo-built debug
// binary) on an ephemeral port with a fresh SQLite database, reads what its first start
// writes to first-start-secrets.txt (the SCIM token and the administrator's password), and
// launches Debian's headless Chromium through playwright-core with a fresh profile.
import { spawn, execFile } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(here, "..", "..");
export const SCREENSHOTS = resolve(ROOT, "test-artifacts", "screenshots");
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
export const SCIMD = process.env.SCIMD_BIN || join(ROOT, "target", "debug", "scimd");
export const CORE = "urn:ietf:params:scim:schemas:core:2.0:User";
export const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
export const CUSTOM = "urn:ietf:params:scim:schemas:extension:scimd:2.0:User";

/** Starts `scimd serve` on 127.0.0.1:0 with a new database; resolves when it listens. */
export async function startScimd() {
  if (!existsSync(SCIMD)) {
    throw new Error(`${SCIMD} does not exist: build it first with \`cargo build -p scimd\``);
  }
  const dir = mkdtempSync(join(tmpdir(), "scimd-browser-"));
  const db = `sqlite://${dir}/scimd.db`;
  const child = spawn(SCIMD, ["serve", "--listen", "127.0.0.1:0", "--database", db], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, SCIMD_LOG_LEVEL: process.env.SCIMD_LOG_LEVEL || "warn" },
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => { out += d; });
  child.stderr.on("data", (d) => { err += d; });
  const started = await new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => reject(new Error(`scimd did not start in 60 s; stderr:\n${err}`)), 60_000);
    const check = () => {
      // The whole line: stderr may arrive cut anywhere ("listening on http://127" first).
      const url = /listening on (http:\/\/\S+)\n/.exec(err)?.[1];
      let secrets = "";
      try {
        secrets = readFileSync(join(dir, "first-start-secrets.txt"), "utf8");
      } catch {
        // Not written yet.
      }
      const token = /^Secret Token: ((?:scimd_)?[0-9a-f]{64})$/m.exec(secrets)?.[1];
      const password = /^Password: (\S+)$/m.exec(secrets)?.[1];
      if (url && token && password) {
        clearTimeout(timer);
        resolveStart({ url, token, password });
      }
    };
    child.stdout.on("data", check);
    child.stderr.on("data", check);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`scimd exited with ${code} before listening; stderr:\n${err}`));
    });
  });
  return {
    ...started,
    db,
    dir,
    stdout: () => out,
    stderr: () => err,
    /** Runs `scimd <args> --database <this database>`; resolves with its stdout. */
    async cli(...args) {
      const { stdout } = await promisify(execFile)(SCIMD, [...args, "--database", db]);
      return stdout;
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Debian's Chromium, headless, with a fresh profile (user data directory). */
export async function launch(options = {}) {
  const profile = mkdtempSync(join(tmpdir(), "scimd-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      // --user-data-dir: the fresh `profile` above (playwright passes it to Chromium).
    ],
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
    ...options,
  });
  context.setDefaultTimeout(15_000);
  const close = async () => {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, close };
}

/**
 * What each test file starts with: a scimd (`startScimd`), a browser (`launch`) and one page
 * in it; resolves with { srv, browser, page }. `closePortal` stops them again.
 */
export async function openPortal() {
  const srv = await startScimd();
  const browser = await launch();
  return { srv, browser, page: await browser.context.newPage() };
}

/** Closes what `openPortal` started (either part may be missing when start-up failed). */
export async function closePortal({ srv, browser }) {
  await browser?.close();
  await srv?.stop();
}

/** Saves a full-page screenshot as test-artifacts/screenshots/<name>.png. */
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

let axeSource;

/**
 * axe-core's serious and critical violations of the page `p` as it is now, every rule
 * enabled: one line each (rule, impact, help, the first five elements).
 */
export async function axeViolations(p) {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
  await p.evaluate(axeSource);
  const result = await p.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 5).join(", ")}`);
}

/**
 * Screenshots of the current page at 1280 px and at 360 px wide (`<name>-1280`,
 * `<name>-360`); leaves the page at 1280 px.
 */
export async function screenshots(page, name) {
  await page.setViewportSize({ width: 1280, height: 900 });
  await screenshot(page, `${name}-1280`);
  await page.setViewportSize({ width: 360, height: 800 });
  await screenshot(page, `${name}-360`);
  await page.setViewportSize({ width: 1280, height: 900 });
}

/**
 * Signs in through the sign-in form and waits for the page it leads to: the dashboard (or
 * `next`), or first the password change a password generated by scimd requires.
 */
export async function signIn(page, base, username, password) {
  await page.goto(`${base}/signin`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await Promise.all([
    page.waitForURL((u) => !u.pathname.startsWith("/signin")),
    page.getByRole("button", { name: "Sign in" }).click(),
  ]);
}

/** On the password change page: changes `current` to `next` and waits for the page after. */
export async function changePassword(page, current, next) {
  await page.getByLabel("Current password").fill(current);
  await page.getByLabel("New password", { exact: true }).fill(next);
  await page.getByLabel("New password again").fill(next);
  await Promise.all([
    page.waitForURL((u) => !u.pathname.startsWith("/account/password")),
    page.getByRole("button", { name: "Change password" }).click(),
  ]);
}

/**
 * Signs `srv`'s first administrator in; when its password is still the generated one,
 * changes it on the way (and keeps the new one in `srv.password`).
 */
export async function signInAdmin(page, srv) {
  await signIn(page, srv.url, "admin", srv.password);
  if (new URL(page.url()).pathname === "/account/password") {
    const chosen = `${srv.password}-chosen`;
    await changePassword(page, srv.password, chosen);
    srv.password = chosen;
  }
}

/** A SCIM request with the bearer token; resolves with { status, body }. */
export async function scim(srv, method, path, body) {
  const res = await fetch(`${srv.url}/scim/v2${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${srv.token}`,
      "Content-Type": "application/scim+json",
      Accept: "application/scim+json",
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** The trimmed text of a locator. */
export async function textOf(locator) {
  return ((await locator.innerText()) || "").replace(/\s+/g, " ").trim();
}
