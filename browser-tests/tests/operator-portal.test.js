// The operator portal at /operator/ in a real browser: an operator made by
// `scimd operator create` signs in (changing the generated password first), lands on the
// tenants page, creates a tenant from its form and reads the tenant's SCIM URL, token and
// administrator once, then disables it. Screenshots at 1280 px and 360 px, and axe-core on
// every operator page at both widths: no serious or critical violation, no rule disabled.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { openPortal, closePortal, screenshot, textOf, axeViolations } from "../lib/harness.js";

let srv;
let browser;
let page;

before(async () => ({ srv, browser, page } = await openPortal()));
after(() => closePortal({ srv, browser }));

/** axe-core's serious and critical violations, each with the page and width it was found at. */
const found = [];

/**
 * Screenshots of the current page at 1280 px and at 360 px (`<name>-1280`, `<name>-360`), and
 * axe-core's violations at both into `found`; leaves the page at 1280 px.
 */
async function shots(name) {
  for (const [width, height] of [[1280, 900], [360, 800]]) {
    await page.setViewportSize({ width, height });
    for (const v of await axeViolations(page)) found.push(`${name} at ${width} px: ${v}`);
    await screenshot(page, `${name}-${width}`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

/** Clicks `locator` and waits for the page at the path `to` (or a URL the function `to` accepts). */
async function clickTo(locator, to) {
  const url = typeof to === "string" ? (u) => u.pathname === to : to;
  await Promise.all([page.waitForURL(url), locator.click()]);
}

test("an operator signs in at /operator/ and creates a tenant", async () => {
  const out = await srv.cli("operator", "create", "olga");
  const password = out.match(/Password:\s+(\S+)/)[1];
  assert.match(out, new RegExp(`Operator portal:\\s+${srv.url}/operator/`));

  // Served within a second of the operator's creation (the server's lookups are cached).
  let signin = false;
  for (let i = 0; i < 30 && !signin; i++) {
    const r = await page.goto(`${srv.url}/operator/`);
    signin = r.status() === 200 && new URL(page.url()).pathname === "/operator/signin";
    if (!signin) await new Promise((ok) => setTimeout(ok, 100));
  }
  assert.ok(signin, "the operator portal sends to its sign-in page");
  assert.equal(await textOf(page.locator("h1")), "Sign in to the operator portal");
  await shots("95-operator-sign-in");
  await page.getByLabel("Username").fill("olga");
  await page.getByLabel("Password").fill(password);
  await clickTo(page.getByRole("button", { name: "Sign in" }), "/operator/account/password");
  const chosen = `${password}-chosen`;
  await page.getByLabel("Current password").fill(password);
  await page.getByLabel("New password", { exact: true }).fill(chosen);
  await page.getByLabel("New password again").fill(chosen);
  await clickTo(page.getByRole("button", { name: "Change password" }), "/operator/tenants");
  assert.equal(await textOf(page.locator(".brand small")), "Operator");
  const nav = page.getByRole("navigation", { name: "Main" });
  assert.deepEqual(await nav.getByRole("link").allInnerTexts(), ["Tenants", "Audit"]);
  assert.equal(await page.locator('tr[data-tenant="default"]').count(), 1);
  const names = (await browser.context.cookies(srv.url)).map((c) => c.name);
  assert.ok(names.includes("scimd_session_operator"), names.join());
  assert.ok(!names.includes("scimd_session"), names.join());

  // A slug that is not one: the form comes back with the error, the name kept.
  await page.getByLabel("Name", { exact: true }).fill("Northwind Traders");
  await page.getByLabel(/Slug/).fill("North Wind");
  await page.evaluate(() => document.querySelector("#tenant-slug").removeAttribute("pattern"));
  await page.getByRole("button", { name: "Create tenant" }).click();
  await page.waitForSelector("#tenant-error");
  assert.equal(await page.getByLabel("Name", { exact: true }).inputValue(), "Northwind Traders");
  await shots("96-operator-tenant-refused");

  await page.getByLabel(/Slug/).fill("northwind");
  await Promise.all([
    page.waitForSelector("#new-scim-token"),
    page.getByRole("button", { name: "Create tenant" }).click(),
  ]);
  const scimUrl = await textOf(page.locator("#new-scim-url"));
  const token = await textOf(page.locator("#new-scim-token"));
  assert.equal(scimUrl, `${srv.url}/t/northwind/scim/v2`);
  assert.equal(await textOf(page.locator("#new-portal-url")), `${srv.url}/t/northwind/`);
  assert.equal(await textOf(page.locator("#new-admin-username")), "admin");
  await shots("97-operator-tenant-created");
  const res = await fetch(`${scimUrl}/Users`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);

  // Back on the list: the new tenant, then disabled with its button.
  await clickTo(page.getByRole("link", { name: "Back to the tenants" }), "/operator/tenants");
  await clickTo(
    page.getByRole("button", { name: "Disable tenant northwind" }),
    (u) => u.search.includes("ok=tenant-disabled"),
  );
  assert.match(await textOf(page.locator('tr[data-tenant="northwind"]')), /disabled/);
  await shots("98-operator-tenants");
  const off = await fetch(`${scimUrl}/Users`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(off.status, 403);

  // Deleting asks for the slug.
  const deleteLink = page.getByRole("link", { name: "Delete tenant northwind" });
  await clickTo(deleteLink, "/operator/tenants/northwind/delete");
  await shots("99-operator-tenant-delete");

  // The audit page shows what operators did.
  await clickTo(nav.getByRole("link", { name: "Audit" }), "/operator/audit");
  assert.match(await textOf(page.locator("main")), /northwind/);
  await shots("99-operator-audit");
  // The password page an operator meets first, as it is when chosen from the menu.
  await page.goto(`${srv.url}/operator/account/password`);
  await shots("99-operator-account-password");
  assert.deepEqual(found, [], found.join("\n"));
});
