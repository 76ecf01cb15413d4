// The product's provisioning procedure, end to end, in a real browser against a real scimd:
// sign in; add a custom attribute; see it on the Attributes page typed IDP with only
// Delete; provision a user over SCIM with that attribute and a department; see both values
// on the user's Attributes tab; DELETE the user over SCIM and see it deprovisioned but
// present; delete it permanently from the portal; see each step in the provisioning log.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  startServerAndPage, stopServerAndPage, signIn, screenshot, scim, textOf, CORE, ENTERPRISE, CUSTOM,
} from "../lib/harness.js";

let srv, browser, page;
let userId;

before(async () => ({ srv, browser, page } = await startServerAndPage()));
after(() => stopServerAndPage({ srv, browser }));

test("the provisioning procedure", async (t) => {
  await t.test("sign in", async () => {
    const res = await page.goto(`${srv.url}/`);
    assert.equal(new URL(page.url()).pathname, "/signin", "an anonymous visit lands on the sign-in page");
    assert.equal(res.status(), 200);
    assert.equal(await page.title(), "Sign in · scimd");
    await screenshot(page, "01-sign-in");
    await signIn(page, srv.url, "admin", srv.password);
    assert.equal(new URL(page.url()).pathname, "/dashboard");
    assert.equal(await page.title(), "Dashboard · scimd");
    assert.equal(await textOf(page.locator("#tenant-url")), `${srv.url}/scim/v2`);
    await screenshot(page, "02-dashboard-empty");
  });

  await t.test("add a custom attribute under User Provisioning > Edit Settings", async () => {
    await page.getByRole("link", { name: "User Provisioning" }).click();
    await page.waitForURL(/\/admin\/provisioning$/);
    assert.equal(await page.title(), "User Provisioning · scimd");
    await page.getByRole("link", { name: "Edit Settings" }).first().click();
    await page.waitForURL(/\/admin\/provisioning\/settings/);

    // An invalid name, then a valid one, then a duplicate (ignoring case).
    await page.getByText("+ Add Custom Attribute").click();
    await page.getByLabel("Attribute Name").fill("2costCode");
    await page.getByRole("button", { name: "Save Changes" }).click();
    await page.locator("#add-error").waitFor();
    assert.match(await textOf(page.locator("#add-error")), /must start with a letter/);
    assert.equal(await page.getByLabel("Attribute Name").inputValue(), "2costCode", "the entered name is kept");

    await page.getByLabel("Attribute Name").fill("costCode");
    await page.getByLabel("Type").selectOption("string");
    await Promise.all([
      page.waitForURL(/ok=attribute/),
      page.getByRole("button", { name: "Save Changes" }).click(),
    ]);
    assert.match(await textOf(page.getByRole("status").first()), /Custom attribute “costCode” added/);
    const table = page.locator("#custom-attributes table");
    assert.match(await textOf(table), new RegExp(`costCode string ${CUSTOM}:costCode`));

    await page.getByText("+ Add Custom Attribute").click();
    await page.getByLabel("Attribute Name").fill("COSTCODE");
    await page.getByRole("button", { name: "Save Changes" }).click();
    await page.locator("#add-error").waitFor();
    assert.match(await textOf(page.locator("#add-error")), /already exists/);
    await screenshot(page, "03-edit-settings-duplicate-error");

    // The User Provisioning page gives the exact schema strings to enter in Entra ID.
    await page.goto(`${srv.url}/admin/provisioning`);
    const mappings = await textOf(page.locator("section", { has: page.getByRole("heading", { name: "Attribute mappings for Entra ID" }) }));
    assert.ok(mappings.includes(`${CUSTOM}:costCode`), mappings);
    assert.ok(mappings.includes(`${ENTERPRISE}:department`), mappings);
    await screenshot(page, "04-user-provisioning");
  });

  await t.test("the Attributes page lists it typed IDP with only Delete", async () => {
    await page.getByRole("link", { name: "Attributes" }).click();
    await page.waitForURL(/\/admin\/attributes$/);
    assert.equal(await page.title(), "Attributes · scimd");
    const row = page.locator('tr[data-attribute="costCode"]');
    assert.equal(await textOf(row.locator("td").nth(1)), "IDP");
    const actions = row.locator("a, button");
    assert.equal(await actions.count(), 1, "one action only");
    assert.equal(await textOf(actions.first()), "Delete");
    // Core and enterprise attributes are listed with their types and offer nothing.
    const userName = page.locator('tr[data-attribute="userName"]');
    assert.equal(await textOf(userName.locator("td").nth(1)), "Core");
    assert.equal(await userName.locator("a, button").count(), 0);
    const dept = page.locator('tr[data-attribute="department"]');
    assert.equal(await textOf(dept.locator("td").nth(1)), "Enterprise");
    assert.equal(await textOf(dept.locator("td").nth(2)), "string");
    await screenshot(page, "05-attributes");
  });

  await t.test("provision a user over SCIM with the custom attribute and a department", async () => {
    const r = await scim(srv, "POST", "/Users", {
      schemas: [CORE, ENTERPRISE],
      userName: "ada.lovelace@example.com",
      name: { givenName: "Ada", familyName: "Lovelace" },
      displayName: "Ada Lovelace",
      emails: [{ value: "ada.lovelace@example.com", type: "work", primary: true }],
      active: true,
      [ENTERPRISE]: { department: "Analytical Engines", employeeNumber: "1815" },
      [CUSTOM]: { costCode: "CC-1843" },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    userId = r.body.id;
    assert.equal(r.body[CUSTOM].costCode, "CC-1843");
  });

  await t.test("the user's Attributes tab shows the department and the custom value", async () => {
    await page.getByRole("link", { name: "Users", exact: true }).click();
    await page.waitForURL(/\/users$/);
    await page.getByLabel("Search").fill("lovelace");
    await Promise.all([
      page.waitForURL(/q=lovelace/),
      page.getByLabel("Search").press("Enter"),
    ]);
    const link = page.getByRole("link", { name: "ada.lovelace@example.com" });
    await link.waitFor();
    await screenshot(page, "06-users-search");
    await link.click();
    await page.waitForURL(new RegExp(`/users/${userId}$`));
    assert.match(await page.title(), /ada\.lovelace@example\.com · Profile · scimd/);
    assert.match(await textOf(page.getByRole("note").first()), /Entra ID is their source/);
    assert.equal(await page.getByLabel("Given name").inputValue(), "Ada");
    assert.equal(await page.getByLabel("Given name").getAttribute("readonly"), "");
    assert.equal(await page.getByRole("link", { name: "Delete permanently" }).count(), 0, "an active user cannot be deleted");
    await screenshot(page, "07-user-profile");

    await page.getByRole("link", { name: "Attributes", exact: true }).last().click();
    await page.waitForURL(/\/attributes$/);
    const ent = await textOf(page.locator("#enterprise-attributes"));
    assert.match(ent, /department Analytical Engines/);
    assert.match(ent, /employeeNumber 1815/);
    assert.match(await textOf(page.locator("#custom-attributes")), /costCode CC-1843/);
    await screenshot(page, "08-user-attributes");

    await page.getByRole("link", { name: "Groups", exact: true }).last().click();
    await page.waitForURL(/\/groups$/);
    await page.getByRole("link", { name: "All Users" }).last().waitFor();
  });

  await t.test("DELETE over SCIM leaves the user deprovisioned but present", async () => {
    const r = await scim(srv, "DELETE", `/Users/${userId}`);
    assert.equal(r.status, 204);
    assert.equal((await scim(srv, "GET", `/Users/${userId}`)).status, 404, "gone from SCIM");

    await page.goto(`${srv.url}/users?state=deprovisioned`);
    await page.getByRole("link", { name: "ada.lovelace@example.com" }).click();
    await page.waitForURL(new RegExp(`/users/${userId}$`));
    assert.equal(await textOf(page.locator(".badge").first()), "deprovisioned");
    assert.match(await textOf(page.locator("main")), /Deprovisioned: the identity provider deleted this user/);
    await screenshot(page, "09-user-deprovisioned");
  });

  await t.test("delete it permanently from the portal", async () => {
    await page.getByRole("link", { name: "Delete permanently" }).click();
    await page.waitForURL(new RegExp(`/users/${userId}/delete$`));
    assert.match(await page.title(), /Delete ada\.lovelace@example\.com/);
    await screenshot(page, "10-user-delete-confirm");
    await Promise.all([
      page.waitForURL(/ok=user-deleted/),
      page.getByRole("button", { name: "Delete permanently" }).click(),
    ]);
    assert.match(await textOf(page.getByRole("status").first()), /deleted permanently/);
    const gone = await page.goto(`${srv.url}/users/${userId}`);
    assert.equal(gone.status(), 404);
  });

  await t.test("each step is in the provisioning log", async () => {
    await page.goto(`${srv.url}/dashboard`);
    await page.getByRole("link", { name: "Provisioning log" }).first().click();
    await page.waitForURL(/\/log$/);
    assert.equal(await page.title(), "Provisioning log · scimd");
    const rows = page.locator("tr.log-entry");
    const outcomes = await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.outcome));
    assert.deepEqual(outcomes, ["deleted", "deprovisioned", "created"], "newest first");
    for (let i = 0; i < 3; i++) {
      assert.match(await textOf(rows.nth(i)), /ada\.lovelace@example\.com/);
    }
    // Expand the creation: the attributes it set, including both extension values.
    const created = rows.nth(2);
    await created.locator("summary").click();
    const body = await textOf(created.locator(".entry-body"));
    assert.match(body, /POST \/scim\/v2\/Users/);
    assert.match(body, /201/);
    assert.ok(body.includes("department") && body.includes("costCode"), body);
    // The permanent delete names the portal administrator.
    assert.match(await textOf(rows.nth(0)), /portal:admin/);
    await screenshot(page, "11-provisioning-log");

    // Filters: outcome, resource type and text.
    await page.getByLabel("Outcome").selectOption("deprovisioned");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL(/outcome=deprovisioned/);
    await page.waitForFunction(() => document.querySelectorAll("tr.log-entry").length === 1);
    assert.equal(await textOf(page.locator("tr.log-entry .badge")), "deprovisioned");

    // Download as CSV and JSON Lines: every matching entry.
    await page.goto(`${srv.url}/log`);
    const [csv] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("link", { name: "Download CSV" }).click(),
    ]);
    const csvText = readFileSync(await csv.path(), "utf8");
    assert.match(csvText.split("\r\n")[0], /^seq,time,tokenName,method,path/);
    assert.equal(csvText.trim().split("\r\n").length, 4, csvText);
    const [jsonl] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("link", { name: "Download JSON Lines" }).click(),
    ]);
    const lines = readFileSync(await jsonl.path(), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.outcome), ["deleted", "deprovisioned", "created"]);
  });

  await t.test("groups: the built-in All Users group, and a local group with members", async () => {
    // A local user to put in the group.
    await page.goto(`${srv.url}/users/new`);
    assert.equal(await page.title(), "Create local user · scimd");
    await page.getByLabel("userName").fill("grace.hopper@example.com");
    await page.getByLabel("Given name").fill("Grace");
    await page.getByLabel("Family name").fill("Hopper");
    await page.getByLabel("Email").fill("grace.hopper@example.com");
    await Promise.all([page.waitForURL(/ok=user-created/), page.getByRole("button", { name: "Create user" }).click()]);
    assert.match(await textOf(page.locator("main")), /This is a local user/);

    await page.getByRole("link", { name: "Groups", exact: true }).first().click();
    await page.waitForURL(/\/groups$/);
    await page.getByRole("link", { name: "All Users" }).click();
    await page.waitForURL(/\/groups\/[0-9a-f-]+$/);
    assert.match(await textOf(page.locator("main")), /holds every user/);
    assert.match(await textOf(page.locator("#h-members")), /Members \(1\)/);
    await screenshot(page, "12-group-all-users");

    await page.goto(`${srv.url}/groups`);
    await page.getByLabel("Group name", { exact: true }).fill("Night Shift");
    await Promise.all([page.waitForURL(/ok=group-created/), page.getByRole("button", { name: "Create group" }).click()]);
    await page.getByLabel("userName or user id").fill("GRACE.hopper@example.com");
    await Promise.all([page.waitForURL(/ok=member-added/), page.getByRole("button", { name: "Add member" }).click()]);
    assert.match(await textOf(page.locator("#h-members")), /Members \(1\)/);
    await page.getByRole("link", { name: "grace.hopper@example.com" }).waitFor();
    await screenshot(page, "13-group-local");
    await Promise.all([page.waitForURL(/ok=member-removed/), page.getByRole("button", { name: "Remove grace.hopper@example.com from the group" }).click()]);
    assert.match(await textOf(page.locator("#h-members")), /Members \(0\)/);
    await page.getByRole("link", { name: "Delete group" }).click();
    await Promise.all([page.waitForURL(/ok=group-deleted/), page.getByRole("button", { name: "Delete group" }).click()]);
    assert.match(await textOf(page.getByRole("status").first()), /Group “Night Shift” deleted/);
  });

  await t.test("deleting the custom attribute says how many users hold a value", async () => {
    const r = await scim(srv, "POST", "/Users", {
      schemas: [CORE],
      userName: "alan.turing@example.com",
      name: { givenName: "Alan", familyName: "Turing" },
      emails: [{ value: "alan.turing@example.com" }],
      [CUSTOM]: { costCode: "CC-1936" },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await page.goto(`${srv.url}/admin/attributes`);
    await page.locator('tr[data-attribute="costCode"]').getByRole("link", { name: "Delete attribute costCode" }).click();
    await page.waitForURL(/\/admin\/attributes\/costCode\/delete$/);
    assert.match(await textOf(page.locator("#delete-impact")), /^1 user holds a value/);
    await screenshot(page, "14-attribute-delete-confirm");
    await Promise.all([page.waitForURL(/ok=attribute-deleted/), page.getByRole("button", { name: "Delete attribute" }).click()]);
    assert.equal(await page.locator('tr[data-attribute="costCode"]').count(), 0);
    const after = await scim(srv, "GET", `/Users/${r.body.id}`);
    assert.equal(after.body[CUSTOM], undefined, "the value went with the attribute");
    await page.goto(`${srv.url}/dashboard`);
    await screenshot(page, "15-dashboard");
  });
});
