// The portal's security in a real browser: sign-in failures and throttling, CSRF refusal,
// cookie flags and security headers, pages that work without JavaScript, and a token's
// secret that no page shows after the one that created it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { openPortal, closePortal, launch, signInAdmin, screenshot, scim, textOf } from "../lib/harness.js";

let srv;
let browser;
let page;

before(async () => ({ srv, browser, page } = await openPortal()));
after(() => closePortal({ srv, browser }));

/** Submits the sign-in form; resolves with the response status of the POST. */
async function attempt(username, password) {
  await page.goto(`${srv.url}/signin`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/signin") && r.request().method() === "POST"),
    page.getByRole("button", { name: "Sign in" }).click(),
  ]);
  await page.waitForLoadState();
  return res.status();
}

test("sign-in failures are refused, then throttled", async () => {
  // A second administrator, made with the CLI, so that throttling it leaves `admin` usable.
  const password = (await srv.cli("admin", "create", "--username", "ops")).trim();
  assert.match(password, /^[A-Za-z0-9]{20}$/);

  assert.equal(await attempt("ops", "not the password"), 401);
  assert.equal(await textOf(page.getByRole("alert")), "Wrong username or password.");
  assert.equal(await page.getByLabel("Username").inputValue(), "ops", "the username is kept");
  await screenshot(page, "20-sign-in-wrong-password");
  assert.equal(await attempt("nobody", "whatever-password"), 401, "an unknown username gets the same answer");
  assert.equal(await textOf(page.getByRole("alert")), "Wrong username or password.");

  for (let i = 2; i <= 5; i++) {
    assert.equal(await attempt("ops", `wrong ${i}`), 401);
  }
  assert.match(await textOf(page.getByRole("alert")), /Further attempts are blocked/);
  // Now even the right password is refused, without being checked.
  assert.equal(await attempt("ops", password), 429);
  assert.match(await textOf(page.getByRole("alert")), /Too many failed sign-ins/);
  assert.equal(new URL(page.url()).pathname, "/signin");
  await screenshot(page, "21-sign-in-throttled");

  // Another username from the same client is not affected.
  await signInAdmin(page, srv);
  assert.equal(new URL(page.url()).pathname, "/dashboard");
});

test("cookies are HttpOnly and SameSite=Strict; responses carry CSP and X-Frame-Options", async () => {
  const cookies = await browser.context.cookies(srv.url);
  const session = cookies.find((c) => c.name === "scimd_session");
  assert.ok(session, JSON.stringify(cookies));
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, "Strict");
  assert.equal(session.secure, false, "plain HTTP here; Secure under TLS");
  const res = await page.goto(`${srv.url}/dashboard`);
  const h = res.headers();
  assert.match(h["content-security-policy"], /default-src 'self'/);
  assert.match(h["content-security-policy"], /script-src 'self'(;|$)/, "no inline scripts");
  assert.equal(h["x-frame-options"], "DENY");
  assert.equal(h["referrer-policy"], "same-origin");
  assert.equal(h["cache-control"], "no-store");
  const js = await page.request.get(`${srv.url}/assets/htmx.min.js`);
  assert.match(js.headers()["cache-control"], /max-age=31536000/);
  assert.match(await js.text(), /^\/\*! htmx 2\.0\.\d+/);
  // No inline script anywhere: every <script> has a src on this origin.
  const inline = await page.locator("script:not([src])").count();
  assert.equal(inline, 0);
});

test("a POST without the CSRF token, or with a wrong one, is refused with 403", async () => {
  await page.goto(`${srv.url}/admin/provisioning`);
  // Without a token (a same-origin request with the session cookie).
  const without = await page.evaluate(async () => {
    const r = await fetch("/admin/provisioning/tokens", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "name=forged&scope=admin",
    });
    return { status: r.status, text: await r.text() };
  });
  assert.equal(without.status, 403);
  assert.match(without.text, /security token/);
  // With a wrong token, through the real form.
  await page.locator('form[action="/admin/provisioning/tokens"] input[name="csrf"]').evaluate((el) => { el.value = "0".repeat(64); });
  await page.getByLabel("Token name").fill("forged-too");
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/admin/provisioning/tokens")),
    page.getByRole("button", { name: "Create token" }).click(),
  ]);
  assert.equal(res.status(), 403);
  await page.waitForLoadState();
  assert.equal(await page.title(), "Request refused · scimd");
  await screenshot(page, "22-csrf-refused");
  // Nothing was created.
  await page.goto(`${srv.url}/admin/provisioning`);
  const tokens = await textOf(page.locator("#tokens table"));
  assert.ok(!tokens.includes("forged"), tokens);
  // The sign-in form is protected too (double-submit cookie): a cross-site POST fails.
  const r = await fetch(`${srv.url}/signin`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ username: "admin", password: srv.password, csrf: "x" }),
    redirect: "manual",
  });
  assert.equal(r.status, 403);
  // Signing out also needs the token.
  const out = await page.evaluate(async () => (await fetch("/signout", { method: "POST", body: new URLSearchParams({ csrf: "nope" }) })).status);
  assert.equal(out, 403);
});

test("a token's secret is shown once, and on no page after that", async () => {
  await page.goto(`${srv.url}/admin/provisioning`);
  await page.getByLabel("Token name").fill("entra-prod");
  await page.getByLabel("Scope").selectOption("scim");
  await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/admin/provisioning/tokens") && r.status() === 201),
    page.getByRole("button", { name: "Create token" }).click(),
  ]);
  await page.locator("#new-secret").waitFor();
  const secret = await textOf(page.locator("#new-secret"));
  assert.match(secret, /^scimd_[0-9a-f]{64}$/);
  assert.match(await textOf(page.getByRole("status").first()), /shown only this once/);
  await page.getByRole("button", { name: "Copy" }).nth(1).waitFor();
  await screenshot(page, "23-token-created");
  // The secret works over SCIM.
  const ok = await scim({ ...srv, token: secret }, "GET", "/Users?count=1");
  assert.equal(ok.status, 200);

  // Provision something so that the log, users and groups pages have content.
  const u = await scim(srv, "POST", "/Users", {
    userName: "secret.check@example.com",
    name: { givenName: "Secret", familyName: "Check" },
    emails: [{ value: "secret.check@example.com" }],
  });
  assert.equal(u.status, 201);
  const g = await scim(srv, "POST", "/Groups", { displayName: "Secret Keepers", members: [{ value: u.body.id }] });
  assert.equal(g.status, 201);

  const pages = [
    "/users",
    `/users/${u.body.id}`,
    `/users/${u.body.id}/attributes`,
    `/users/${u.body.id}/groups`,
    "/users/new",
    "/groups",
    `/groups/${g.body.id}`,
    "/admin/provisioning",
    "/admin/provisioning/settings",
    "/admin/attributes",
    "/log",
    "/log?text=entra",
    "/dashboard",
    "/account/password",
    "/signin",
  ];
  for (const p of pages) {
    const res = await page.goto(`${srv.url}${p}`);
    assert.ok(res.status() < 400, `${p}: ${res.status()}`);
    const html = await page.content();
    assert.ok(!html.includes(secret), `${p} shows the secret`);
    assert.ok(html.includes("<title>"), p);
  }
  // Going back in history does not bring the page with the secret back from a cache.
  await page.goto(`${srv.url}/admin/provisioning`);
  assert.ok(!(await page.content()).includes(secret));
  assert.ok((await textOf(page.locator("#tokens table"))).includes("entra-prod"), "listed by name");
  // Nor do the downloads.
  const csv = await page.request.get(`${srv.url}/log/export?format=csv`);
  assert.equal(csv.status(), 200);
  assert.ok(!(await csv.text()).includes(secret));

  // Revoke it in the portal: it stops working.
  await page.goto(`${srv.url}/admin/provisioning`);
  await Promise.all([
    page.waitForURL(/ok=token-revoked/),
    page.getByRole("button", { name: "Revoke token entra-prod" }).click(),
  ]);
  assert.equal((await scim({ ...srv, token: secret }, "GET", "/Users?count=1")).status, 401);
});

test("with JavaScript, htmx filters the users list as one types, without reloading the page", async () => {
  await page.goto(`${srv.url}/users`);
  await page.evaluate(() => { window.__samePage = true; });
  await page.getByLabel("Search").fill("secret.check");
  await page.waitForURL(/q=secret\.check/);
  await page.getByRole("link", { name: "secret.check@example.com" }).waitFor();
  assert.equal(await page.evaluate(() => window.__samePage), true, "no full page load");
  assert.match(await textOf(page.locator(".pager")), /1–1 of 1 users/);
  await page.getByLabel("State").selectOption("deprovisioned");
  await page.waitForURL(/state=deprovisioned/);
  await page.getByText("No users match.").waitFor();
  assert.equal(await page.evaluate(() => window.__samePage), true);
});

test("pages work without JavaScript", async () => {
  const nojs = await launch({ javaScriptEnabled: false });
  try {
    const p = await nojs.context.newPage();
    await p.goto(`${srv.url}/users`);
    assert.equal(new URL(p.url()).pathname, "/signin", "redirected to sign in");
    await p.getByLabel("Username").fill("admin");
    await p.getByLabel("Password").fill(srv.password);
    await Promise.all([p.waitForURL(/\/users$/), p.getByRole("button", { name: "Sign in" }).click()]);
    assert.equal(await p.title(), "Users · scimd");
    // Search is a plain GET form.
    await p.getByLabel("Search").fill("secret.check");
    await Promise.all([p.waitForURL(/q=secret\.check/), p.getByRole("button", { name: "Search" }).click()]);
    await p.getByRole("link", { name: "secret.check@example.com" }).waitFor();
    // Copy buttons need JavaScript: they stay hidden.
    await p.goto(`${srv.url}/dashboard`);
    assert.equal(await p.getByRole("button", { name: "Copy" }).count(), 0);
    // Adding a custom attribute: <details> opens without JavaScript.
    await p.goto(`${srv.url}/admin/provisioning/settings`);
    await p.getByText("+ Add Custom Attribute").click();
    await p.getByLabel("Attribute Name").fill("badge-id");
    await p.getByLabel("Type").selectOption("integer");
    await Promise.all([p.waitForURL(/ok=attribute/), p.getByRole("button", { name: "Save Changes" }).click()]);
    assert.match(await textOf(p.locator("#custom-attributes table")), /badge-id integer/);
    await screenshot(p, "24-no-javascript-settings");
    // Keyboard: the skip link is the first thing Tab reaches, and it moves focus to main;
    // the next Tab reaches the first link of the page's content.
    await p.goto(`${srv.url}/users`);
    await p.keyboard.press("Tab");
    assert.equal(await p.evaluate(() => document.activeElement.textContent), "Skip to main content");
    await p.keyboard.press("Enter");
    assert.equal(await p.evaluate(() => document.activeElement.id), "main");
    await p.keyboard.press("Tab");
    assert.equal(await p.evaluate(() => document.activeElement.textContent), "Create local user");
    // Sign out.
    await Promise.all([p.waitForURL(/\/signin$/), p.getByRole("button", { name: "Sign out" }).click()]);
    const back = await p.goto(`${srv.url}/dashboard`);
    assert.equal(new URL(p.url()).pathname, "/signin", `signed out (${back.status()})`);
  } finally {
    await nojs.close();
  }
});

test("every page has a title, and every form field a label", async () => {
  const pages = ["/dashboard", "/admin/provisioning", "/admin/provisioning/settings", "/admin/attributes", "/users", "/users/new", "/groups", "/log", "/account/password"];
  for (const p of pages) {
    await page.goto(`${srv.url}${p}`);
    assert.ok((await page.title()).endsWith(" · scimd"), p);
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
        .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label"))
        .map((el) => el.outerHTML));
    assert.deepEqual(unlabelled, [], p);
  }
  // The stdout of scimd (not a terminal here) printed no secret at all: the first start's
  // are in first-start-secrets.txt, and the new token's were never printed.
  assert.equal((srv.stdout().match(/[0-9a-f]{64}/g) || []).length, 0);
  assert.match(srv.stdout(), /first-start-secrets\.txt/);
});
