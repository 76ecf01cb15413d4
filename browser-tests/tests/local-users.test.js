// Local users and groups managed in the portal (issue 17), in a real browser against a real
// scimd: edit a local user (and see a refused save keep what was typed), disable and enable
// it, soft delete it after a confirmation, delete it permanently; rename and delete a local
// group; a provisioned user stays read-only with the note that Entra ID is its source; All
// Users is among a user's groups; and on Edit Settings a changed custom schema URN survives
// "+ Add Custom Attribute". Screenshots at 1280 px and 360 px.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  openPortal, closePortal, signInAdmin, screenshots, scim, textOf, CORE,
} from "../lib/harness.js";

const IVANTI = "urn:ietf:params:scim:schemas:extension:ivanti:2.0:User";

let srv;
let browser;
let page;

before(async () => {
  ({ srv, browser, page } = await openPortal());
  await signInAdmin(page, srv);
});
after(() => closePortal({ srv, browser }));

/** Screenshots of the current page at 1280 px and at 360 px (`<name>-1280`, `<name>-360`). */
const shots = (name) => screenshots(page, name);

/** Clicks `button` and waits for a URL matching `url`. */
async function submit(button, url) {
  await Promise.all([page.waitForURL(url), button.click()]);
}

const notice = () => textOf(page.getByRole("status").first());
const badge = () => textOf(page.locator(".spread .badge").first());

test("a local user: edit, disable, enable, soft delete, permanent delete", async (t) => {
  let userId;

  await t.test("create and edit it", async () => {
    await page.goto(`${srv.url}/users/new`);
    await page.getByLabel("userName").fill("ada.local@example.com");
    await page.getByLabel("Given name").fill("Ada");
    await page.getByLabel("Family name").fill("Lovelace");
    await page.getByLabel("Email").fill("ada.local@example.com");
    await submit(page.getByRole("button", { name: "Create user" }), /ok=user-created/);
    userId = /\/users\/([0-9a-f-]+)/.exec(page.url())[1];

    await page.getByLabel("Given name").fill("Augusta");
    await page.getByLabel("Display name").fill("Ada King");
    await page.getByLabel("Title").fill("Countess");
    await submit(page.getByRole("button", { name: "Save changes" }), /ok=user-updated/);
    assert.match(await notice(), /User saved/);
    assert.equal(await page.getByLabel("Given name").inputValue(), "Augusta");
    assert.equal(await page.getByLabel("Display name").inputValue(), "Ada King");
    assert.equal(await page.getByLabel("Title").inputValue(), "Countess");
    assert.equal(await page.getByLabel("Family name").inputValue(), "Lovelace", "kept");
    assert.match(await textOf(page.locator("h1")), /Ada King/);
    const s = await scim(srv, "GET", `/Users/${userId}`);
    assert.equal(s.body.name.givenName, "Augusta");
    assert.equal(s.body.title, "Countess");
    await shots("30-local-user-edited");
  });

  await t.test("a refused save says why and keeps what was typed", async () => {
    const other = await scim(srv, "POST", "/Users", {
      schemas: [CORE], userName: "taken@example.com",
      name: { givenName: "T", familyName: "Aken" }, emails: [{ value: "taken@example.com" }],
    });
    assert.equal(other.status, 201);
    await page.getByLabel("userName").fill("TAKEN@example.com");
    await page.getByLabel("Display name").fill("Not saved");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.locator("#edit-error").waitFor();
    assert.match(await textOf(page.locator("#edit-error")), /userName 'taken@example.com' is already used/);
    assert.equal(await page.getByLabel("userName").inputValue(), "TAKEN@example.com");
    assert.equal(await page.getByLabel("Display name").inputValue(), "Not saved");
    assert.equal(await page.getByLabel("userName").getAttribute("aria-describedby"), "edit-error");
    await shots("31-local-user-edit-refused");
    const s = await scim(srv, "GET", `/Users/${userId}`);
    assert.equal(s.body.userName, "ada.local@example.com", "nothing changed");
    assert.equal(s.body.displayName, "Ada King");
  });

  await t.test("disable and enable it", async () => {
    await page.goto(`${srv.url}/users/${userId}`);
    assert.equal(await page.getByRole("link", { name: "Delete permanently" }).count(), 0, "active: not deletable");
    await submit(page.getByRole("button", { name: "Disable" }), /ok=user-disabled/);
    assert.match(await notice(), /User disabled/);
    assert.equal(await badge(), "inactive");
    assert.equal((await scim(srv, "GET", `/Users/${userId}`)).body.active, false);
    await shots("32-local-user-disabled");
    await submit(page.getByRole("button", { name: "Enable" }), /ok=user-enabled/);
    assert.equal(await badge(), "active");
    assert.equal((await scim(srv, "GET", `/Users/${userId}`)).body.active, true);
  });

  await t.test("soft delete it after a confirmation", async () => {
    await page.getByRole("link", { name: "Soft delete" }).click();
    await page.waitForURL(new RegExp(`/users/${userId}/soft-delete$`));
    assert.equal(await textOf(page.locator("h1")), "Soft delete ada.local@example.com?");
    assert.match(await textOf(page.locator("main .card")), /hidden from SCIM clients and keeps its group memberships/);
    await shots("33-local-user-soft-delete-confirm");
    // Cancel leads back and changes nothing.
    await submit(page.getByRole("link", { name: "Cancel" }), new RegExp(`/users/${userId}$`));
    assert.equal(await badge(), "active");
    await page.getByRole("link", { name: "Soft delete" }).click();
    await submit(page.getByRole("button", { name: "Soft delete" }), /ok=user-soft-deleted/);
    assert.equal(await badge(), "deprovisioned");
    assert.match(await textOf(page.locator("main")), /Soft-deleted \(deprovisioned\)/);
    assert.equal((await scim(srv, "GET", `/Users/${userId}`)).status, 404, "hidden from SCIM");
    await shots("34-local-user-soft-deleted");
  });

  await t.test("delete it permanently", async () => {
    await page.getByRole("link", { name: "Delete permanently" }).click();
    await page.waitForURL(new RegExp(`/users/${userId}/delete$`));
    await submit(page.getByRole("button", { name: "Delete permanently" }), /ok=user-deleted/);
    assert.match(await notice(), /deleted permanently/);
    assert.equal((await page.goto(`${srv.url}/users/${userId}`)).status(), 404);
  });
});

test("a local group: rename and delete", async () => {
  await page.goto(`${srv.url}/groups`);
  await page.getByLabel("Group name", { exact: true }).fill("Day Shift");
  await submit(page.getByRole("button", { name: "Create group" }), /ok=group-created/);
  const gid = /\/groups\/([0-9a-f-]+)/.exec(page.url())[1];
  // A name another group has (ignoring case) is refused, and what was typed stays.
  await page.getByLabel("Group name").fill("all users");
  await page.getByRole("button", { name: "Rename group" }).click();
  await page.locator("#rename-error").waitFor();
  assert.match(await textOf(page.locator("#rename-error")), /a group named 'All Users' already exists/);
  assert.equal(await page.getByLabel("Group name").inputValue(), "all users");
  assert.equal(await page.getByLabel("Group name").getAttribute("aria-invalid"), "true");
  await shots("35-local-group-rename-refused");
  await page.getByLabel("Group name").fill("Night Shift");
  await submit(page.getByRole("button", { name: "Rename group" }), /ok=group-renamed/);
  assert.match(await notice(), /Group renamed/);
  assert.equal(await textOf(page.locator("h1")), "Night Shift");
  assert.equal((await scim(srv, "GET", `/Groups/${gid}`)).body.displayName, "Night Shift");
  await shots("36-local-group-renamed");
  await page.getByRole("link", { name: "Delete group" }).click();
  await submit(page.getByRole("button", { name: "Delete group" }), /ok=group-deleted/);
  assert.match(await notice(), /Group “Night Shift” deleted/);
});

test("a provisioned user is read-only; All Users is among its groups", async () => {
  const u = await scim(srv, "POST", "/Users", {
    schemas: [CORE], userName: "grace.idp@example.com",
    name: { givenName: "Grace", familyName: "Hopper" }, emails: [{ value: "grace.idp@example.com" }],
  });
  assert.equal(u.status, 201);
  const g = await scim(srv, "POST", "/Groups", {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Compilers",
    members: [{ value: u.body.id }],
  });
  assert.equal(g.status, 201);
  await page.goto(`${srv.url}/users/${u.body.id}`);
  assert.match(await textOf(page.locator("#read-only-note")), /Entra ID is their source/);
  assert.equal(await page.locator("#e-userName").count(), 0, "no edit form");
  assert.equal(await page.getByRole("button", { name: "Disable" }).count(), 0);
  assert.equal(await page.getByRole("link", { name: "Soft delete" }).count(), 0);
  assert.equal(await page.getByLabel("Given name").getAttribute("readonly"), "");
  await shots("37-provisioned-user-read-only");
  // The soft delete is refused there too, even when asked for directly.
  assert.equal((await page.goto(`${srv.url}/users/${u.body.id}/soft-delete`)).status(), 409);

  await page.goto(`${srv.url}/users/${u.body.id}/groups`);
  const items = await page.locator("section[aria-label=Groups] li").allInnerTexts();
  assert.deepEqual(items.map((s) => s.trim()), ["All Users (built-in: every user)", "Compilers"]);
  await shots("38-user-groups-tab");
  // Over SCIM the user's groups do not name All Users.
  const s = await scim(srv, "GET", `/Users/${u.body.id}`);
  assert.deepEqual(s.body.groups.map((x) => x.display), ["Compilers"]);
});

test("Edit Settings: a changed URN survives + Add Custom Attribute", async (t) => {
  await t.test("the URN and the attribute are both saved", async () => {
    await page.goto(`${srv.url}/admin/provisioning/settings`);
    await page.getByLabel("Custom schema URN").fill(IVANTI);
    await page.getByText("+ Add Custom Attribute").click();
    await page.getByLabel("Attribute Name").fill("costCode");
    await shots("39-settings-pending-urn-and-attribute");
    await submit(page.getByRole("button", { name: "Save Changes" }), /ok=settings-attribute/);
    assert.match(await notice(), /Settings saved and custom attribute “costCode” added/);
    assert.equal(await page.getByLabel("Custom schema URN").inputValue(), IVANTI);
    assert.match(await textOf(page.locator("#custom-attributes table")), new RegExp(`costCode string ${IVANTI}:costCode`));
    await shots("40-settings-saved-with-attribute");
  });

  await t.test("a refused URN keeps the attribute typed, and nothing is added", async () => {
    await page.getByLabel("Custom schema URN").fill("not a urn");
    await page.getByText("+ Add Custom Attribute").click();
    await page.getByLabel("Attribute Name").fill("badge");
    await page.getByRole("button", { name: "Save Changes" }).click();
    await page.locator("#settings-error").waitFor();
    assert.match(await textOf(page.locator("#settings-error")), /is not usable/);
    assert.equal(await page.getByLabel("Custom schema URN").inputValue(), "not a urn");
    assert.equal(await page.getByLabel("Attribute Name").inputValue(), "badge");
    assert.ok(await page.getByLabel("Attribute Name").isVisible(), "the add form stays open");
    assert.doesNotMatch(await textOf(page.locator("#custom-attributes table")), /badge/);
    await shots("41-settings-refused-urn-keeps-attribute");
  });

  await t.test("Save Settings with an attribute name entered adds it too", async () => {
    await page.getByLabel("Custom schema URN").fill(IVANTI);
    await submit(page.getByRole("button", { name: "Save Settings" }), /ok=settings-attribute/);
    assert.match(await textOf(page.locator("#custom-attributes table")), /badge string/);
  });
});
