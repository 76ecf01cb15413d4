// Each tenant's own portal at /t/SLUG/ in a real browser: one browser context signed in to
// the root portal and to a second tenant's portal at once, each session live, each portal
// showing its own tenant's data, its links (menu, htmx search) staying under its prefix, and
// signing out of one leaving the other signed in.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { openPortal, closePortal, signInAdmin, screenshot, scim, textOf, CORE } from "../lib/harness.js";

let srv;
let browser;
let page;

before(async () => ({ srv, browser, page } = await openPortal()));
after(() => closePortal({ srv, browser }));

/** A SCIM user `userName` in the tenant of `scimUrl`, with `token`; resolves with its status. */
async function tenantUser(scimUrl, token, userName) {
  const res = await fetch(`${scimUrl}/Users`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/scim+json" },
    body: JSON.stringify({
      schemas: [CORE],
      userName,
      name: { givenName: "Bea", familyName: "Tenant" },
      emails: [{ value: userName, primary: true }],
    }),
  });
  return res.status;
}

test("one browser is signed in to the root portal and to a tenant's portal at once", async () => {
  const b = JSON.parse(await srv.cli("tenant", "create", "--name", "Tenant B", "--slug", "b", "--json"));
  const portalB = `${srv.url}/t/b`;
  assert.equal(b.portalUrl, `${portalB}/`);
  assert.equal(await tenantUser(b.scimUrl, b.scimToken, "bea@tenant-b.example"), 201);
  const rootUser = await scim(srv, "POST", "/Users", {
    schemas: [CORE],
    userName: "rita@root.example",
    name: { givenName: "Rita", familyName: "Root" },
    emails: [{ value: "rita@root.example", primary: true }],
  });
  assert.equal(rootUser.status, 201);

  // The root portal, in the first tab.
  await signInAdmin(page, srv);
  assert.equal(new URL(page.url()).pathname, "/dashboard");

  // Tenant B's portal, in a second tab of the same browser: its own sign-in page, its own
  // administrator (whose generated password is changed first), its own prefix throughout.
  const pageB = await browser.context.newPage();
  await pageB.goto(`${portalB}/`);
  assert.equal(new URL(pageB.url()).pathname, "/t/b/signin");
  assert.equal(await textOf(pageB.locator("h1")), "Sign in to Tenant B");
  await screenshot(pageB, "89-tenant-b-sign-in");
  await pageB.getByLabel("Username").fill(b.adminUsername);
  await pageB.getByLabel("Password").fill(b.adminPassword);
  await Promise.all([
    pageB.waitForURL((u) => u.pathname === "/t/b/account/password"),
    pageB.getByRole("button", { name: "Sign in" }).click(),
  ]);
  const chosen = `${b.adminPassword}-chosen`;
  await pageB.getByLabel("Current password").fill(b.adminPassword);
  await pageB.getByLabel("New password", { exact: true }).fill(chosen);
  await pageB.getByLabel("New password again").fill(chosen);
  await Promise.all([
    pageB.waitForURL((u) => u.pathname === "/t/b/dashboard"),
    pageB.getByRole("button", { name: "Change password" }).click(),
  ]);
  assert.equal(await textOf(pageB.locator("#tenant-url")), `${portalB}/scim/v2`);
  assert.equal(await textOf(pageB.locator(".brand small")), "Tenant B", "the tab says which tenant");
  await screenshot(pageB, "90-tenant-b-dashboard");

  // Two session cookies in the one browser, one a portal.
  const names = (await browser.context.cookies(srv.url)).map((c) => c.name);
  assert.ok(names.includes("scimd_session"), names.join());
  assert.ok(names.includes("scimd_session_b"), names.join());

  // Both sessions are live: the root portal still shows the root tenant ...
  await page.goto(`${srv.url}/users`);
  assert.equal(new URL(page.url()).pathname, "/users");
  assert.match(await textOf(page.locator("#results")), /rita@root\.example/);
  assert.doesNotMatch(await textOf(page.locator("#results")), /bea@tenant-b/);
  assert.equal(await textOf(page.locator("h1")), "Users");
  await screenshot(page, "91-two-tenants-root-users");

  // ... and tenant B's, reached through its menu, shows B's users only; its htmx search
  // stays on B's paths.
  await Promise.all([
    pageB.waitForURL((u) => u.pathname === "/t/b/users"),
    pageB.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users" }).click(),
  ]);
  assert.match(await textOf(pageB.locator("#results")), /bea@tenant-b\.example/);
  assert.doesNotMatch(await textOf(pageB.locator("#results")), /rita@root/);
  const [search] = await Promise.all([
    pageB.waitForResponse((r) => new URL(r.url()).pathname === "/t/b/users" && r.url().includes("q=bea")),
    pageB.getByLabel(/Search/).fill("bea"),
  ]);
  assert.equal(search.status(), 200);
  await pageB.waitForURL((u) => u.pathname === "/t/b/users" && u.search.includes("q=bea"));
  assert.match(await textOf(pageB.locator("#results")), /bea@tenant-b\.example/);
  await screenshot(pageB, "92-two-tenants-tenant-b-users");
  for (const href of await pageB.locator("a[href], form[action]").evaluateAll((els) =>
    els.map((e) => e.getAttribute("href") ?? e.getAttribute("action")),
  )) {
    assert.ok(href.startsWith("/t/b/") || href.startsWith("#"), `B's users page links to ${href}`);
  }

  // Signing out of B leaves the root portal signed in.
  await Promise.all([
    pageB.waitForURL((u) => u.pathname === "/t/b/signin"),
    pageB.getByRole("button", { name: "Sign out" }).click(),
  ]);
  await pageB.goto(`${portalB}/dashboard`);
  assert.equal(new URL(pageB.url()).pathname, "/t/b/signin");
  await page.goto(`${srv.url}/dashboard`);
  assert.equal(new URL(page.url()).pathname, "/dashboard");
  await screenshot(page, "93-two-tenants-root-still-signed-in");
  await pageB.close();
});
