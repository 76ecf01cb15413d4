// The administrator's views, in a real browser against a real scimd: a user's and a group's
// History tab after an Entra-style SCIM conversation (every value before and after, rule side
// effects with their transaction, values escaped and long ones cut with "Show all"); the
// Audit page (filters, downloads); the provisioning warnings on the dashboard and the User
// Provisioning page; the menu's Identity and System headings, the favicon, the menu collapsed
// at 360 px and no page scrolling sideways; and axe-core on every portal page (PAGES) at
// 1280 and 360 px: no serious or critical violation, no rule disabled.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  openPortal, closePortal, launch, signInAdmin, screenshot, scim, textOf, ENTERPRISE, axeViolations,
} from "../lib/harness.js";

const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/** A schema URN this tenant does not know (an Entra mapping to the wrong URN). */
const ACME = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";
const WIDTHS = [1280, 360];

let srv;
let browser;
let page;
let adminToken;
const ids = {};

before(async () => {
  ({ srv, browser, page } = await openPortal());
  adminToken = (await srv.cli("token", "create", "--name", "views-admin", "--scope", "admin")).trim();
  await signInAdmin(page, srv);
});
after(() => closePortal({ srv, browser }));

/** An admin API GET with the admin token; resolves with the JSON body. */
async function api(path) {
  const res = await fetch(`${srv.url}/api/v1${path}`, { headers: { Authorization: `Bearer ${adminToken}` } });
  assert.equal(res.status, 200, `${path}: ${await res.clone().text()}`);
  return res.json();
}

/** A PATCH as Entra ID sends it (capitalised op names, string booleans). */
function patchOps(...ops) {
  return { schemas: [PATCH_OP], Operations: ops };
}

/** Every scalar of a JSON value, as text: what a cell showing it must contain. */
function leaves(v) {
  if (v === null || v === undefined) return [];
  if (Array.isArray(v)) return v.flatMap(leaves);
  if (typeof v === "object") return Object.values(v).flatMap(leaves);
  return [String(v)];
}

/** Every portal page an administrator sees, by name: add new pages here (axe, widths). */
function pages() {
  return [
    ["dashboard", "/dashboard"],
    ["user-provisioning", "/admin/provisioning"],
    ["edit-settings", "/admin/provisioning/settings"],
    ["attributes", "/admin/attributes"],
    ["attribute-delete", "/admin/attributes/badgeColour/delete"],
    ["users", "/users"],
    ["user-new", "/users/new"],
    ["user-profile", `/users/${ids.ann}`],
    ["user-attributes", `/users/${ids.ann}/attributes`],
    ["user-groups", `/users/${ids.ann}/groups`],
    ["user-history", `/users/${ids.ann}/history`],
    ["user-delete", `/users/${ids.bob}/delete`],
    ["local-user-inactive", `/users/${ids.bob}`],
    ["local-user-active", `/users/${ids.cara}`],
    ["local-user-soft-delete", `/users/${ids.cara}/soft-delete`],
    ["groups", "/groups"],
    ["group", `/groups/${ids.local}`],
    ["group-history", `/groups/${ids.local}/history`],
    ["group-delete", `/groups/${ids.local}/delete`],
    ["log", "/log"],
    ["audit", "/audit"],
    ["account-password", "/account/password"],
    ["not-found", "/users/no-such-user"],
  ];
}

/** Pages seen signed out. */
const PUBLIC_PAGES = [["sign-in", "/signin"]];

test("an Entra-style conversation, then the user's History tab shows every value before and after", async () => {
  // Entra ID first looks the user up, then creates it, then sends PATCHes.
  const lookup = await scim(srv, "GET", `/Users?filter=${encodeURIComponent('userName eq "ann@contoso.com"')}`);
  assert.equal(lookup.status, 200);
  assert.equal(lookup.body.totalResults, 0);
  const created = await scim(srv, "POST", "/Users", {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE, ACME],
    externalId: "8f1c-ann",
    userName: "ann@contoso.com",
    active: true,
    displayName: "Ann Lee",
    emails: [{ primary: true, type: "work", value: "ann@contoso.com" }],
    name: { formatted: "Ann Lee", familyName: "Lee", givenName: "Ann" },
    title: "Engineer",
    [ENTERPRISE]: { department: "Sales", employeeNumber: "1001" },
    [ACME]: { costCode: "CC-7", badge: "B-12" },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  ids.ann = created.body.id;
  const longTitle = `Principal ${"engineer of long titles ".repeat(20)}end`;
  const hostile = '<img src=x onerror="window.pwned=1"> Ann "Smith" & co';
  for (const body of [
    patchOps(
      { op: "Replace", path: "displayName", value: "Ann Smith" },
      { op: "Replace", path: "name.familyName", value: "Smith" },
      { op: "Replace", path: `${ENTERPRISE}:department`, value: "Marketing" },
      { op: "Replace", path: 'emails[type eq "work"].value', value: "ann.smith@contoso.com" },
    ),
    patchOps({ op: "Add", path: "phoneNumbers", value: [{ type: "work", value: "+1 555 0100" }, { type: "mobile", value: "+1 555 0199" }] }),
    patchOps({ op: "Replace", path: "title", value: longTitle }, { op: "Replace", path: "displayName", value: hostile }),
  ]) {
    const r = await scim(srv, "PATCH", `/Users/${ids.ann}`, body);
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  // A group Entra creates, adds Ann to, then deletes: rule 9 disables Ann (no other group),
  // a side effect recorded under the group delete's transaction.
  const group = await scim(srv, "POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Sales EMEA", members: [] });
  assert.equal(group.status, 201);
  ids.sales = group.body.id;
  const add = await scim(srv, "PATCH", `/Groups/${ids.sales}`, patchOps({ op: "Add", path: "members", value: [{ value: ids.ann }] }));
  assert.ok([200, 204].includes(add.status), JSON.stringify(add.body));
  await page.goto(`${srv.url}/groups/${ids.sales}/history`);
  assert.equal(await page.title(), "Sales EMEA · History · scimd");
  const groupRecords = page.locator("#history > li");
  assert.match(await textOf(groupRecords.first()), /member added/);
  assert.equal(await page.locator(`#history a[href="/users/${ids.ann}"]`).count(), 1, "the member links to its user");
  for (const w of WIDTHS) {
    await page.setViewportSize({ width: w, height: 900 });
    await screenshot(page, `views-group-history-${w}`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  assert.equal((await scim(srv, "DELETE", `/Groups/${ids.sales}`)).status, 204);
  assert.equal((await scim(srv, "PATCH", `/Users/${ids.ann}`, patchOps({ op: "Replace", path: "active", value: "True" }))).status, 200);

  // The oracle: the history the admin API serves; the tab must show each record and every
  // value of every change, before and after.
  const history = await api(`/users/${ids.ann}/history?count=100`);
  assert.ok(history.totalResults >= 7, JSON.stringify(history));
  await page.goto(`${srv.url}/users/${ids.ann}/history`);
  assert.equal(await page.title(), "ann@contoso.com · History · scimd");
  assert.equal(await textOf(page.locator(".tabs [aria-current=page]")), "History");
  const records = page.locator("#history > li");
  assert.equal(await records.count(), history.Resources.length);
  let checked = 0;
  for (const rec of history.Resources) {
    const li = page.locator(`#r${rec.seq}`);
    const head = await textOf(li);
    assert.ok(head.includes(rec.outcome), `record ${rec.seq}: outcome ${rec.outcome} in ${head}`);
    assert.ok(head.includes(rec.txn), `record ${rec.seq}: txn`);
    assert.ok(head.includes(rec.actor.name), `record ${rec.seq}: actor`);
    for (const c of rec.changes || []) {
      if (c.added !== undefined || c.redacted) continue;
      const row = li.locator("table.changes tbody tr").filter({ has: page.locator("th", { hasText: new RegExp(`^${c.attribute.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`) }) });
      assert.equal(await row.count(), 1, `record ${rec.seq}: a row for ${c.attribute}`);
      const [before, after] = [row.locator("td").nth(0), row.locator("td").nth(1)];
      const [bt, at] = [await before.textContent(), await after.textContent()];
      for (const [cell, v, side] of [[bt, c.before, "before"], [at, c.after, "after"]]) {
        if (v === undefined) {
          assert.ok(cell.includes("(absent)"), `record ${rec.seq} ${c.attribute} ${side}: absent`);
        }
        for (const leaf of leaves(v)) {
          assert.ok(cell.includes(leaf), `record ${rec.seq} ${c.attribute} ${side}: ${leaf} in ${cell}`);
          checked++;
        }
      }
    }
  }
  assert.ok(checked >= 20, `values checked: ${checked}`);
  const text = await textOf(page.locator("#history"));
  for (const v of ["Ann Lee", "Ann Smith", "Sales", "Marketing", "ann.smith@contoso.com", "+1 555 0199", "PATCH /scim/v2/Users/"]) {
    assert.ok(text.includes(v), `${v} in the history`);
  }
  // The unknown URN's attributes were ignored, with the warning on the POST's record.
  assert.ok(text.includes(`of unknown schema '${ACME}'`), "the POST's warning");

  // Escaped: the hostile displayName is text, not markup.
  assert.equal(await page.locator("#history img").count(), 0);
  assert.ok(text.includes('<img src=x onerror="window.pwned=1">'));
  assert.equal(await page.evaluate(() => window.pwned), undefined);

  // A long value is cut, the whole of it behind "Show all".
  const titleRow = page.locator("table.changes tbody tr").filter({ has: page.locator("th", { hasText: /^title$/ }) }).first();
  const shown = await textOf(titleRow.locator("td").nth(1).locator("ul.value"));
  assert.ok(shown.endsWith("…") && shown.length < longTitle.length, shown);
  const more = titleRow.locator("td").nth(1).locator("details.more");
  assert.equal(await more.locator("pre").isVisible(), false);
  await more.locator("summary").click();
  assert.equal(await textOf(more.locator("pre")), longTitle.replace(/\s+/g, " ").trim());

  // Multi-valued attributes are one element a line.
  const phones = page.locator("table.changes tbody tr").filter({ has: page.locator("th", { hasText: /^phoneNumbers$/ }) }).first();
  assert.equal(await phones.locator("td").nth(1).locator("ul.value li").count(), 2);

  // Rule 9's side effect, with the group delete's transaction; the transaction alone.
  const ruleRecord = records.filter({ hasText: "side effect of a rule" });
  assert.equal(await ruleRecord.count(), 1);
  assert.match(await textOf(ruleRecord), /group-delete-disables-members/);
  const txn = await textOf(ruleRecord.locator("dd.mono a"));
  for (const w of WIDTHS) {
    await page.setViewportSize({ width: w, height: 900 });
    await screenshot(page, `views-user-history-${w}`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  await Promise.all([page.waitForURL(/txn=/), ruleRecord.locator("dd.mono a").click()]);
  const inTxn = await records.allTextContents();
  assert.ok(inTxn.length >= 1 && inTxn.length < history.Resources.length, "only the transaction's records");
  assert.ok(inTxn.every((t) => t.includes(txn)), inTxn.join("\n"));
  assert.match(await textOf(page.getByRole("status").first()), new RegExp(`Showing transaction ${txn} only`));
  // The deleted group's history keeps the delete, in the same transaction.
  await page.goto(`${srv.url}/groups/${ids.sales}/history?txn=${txn}`);
  assert.match(await textOf(page.locator("#history")), /group deleted/);
});

test("the Audit page filters administrative actions and downloads them", async () => {
  // A portal action (a token), a command-line one (the token of `before`), a local user and
  // group, and the sign-in.
  await page.goto(`${srv.url}/admin/provisioning`);
  await page.getByLabel("Token name").fill("audit-probe");
  await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/admin/provisioning/tokens")),
    page.getByRole("button", { name: "Create token" }).click(),
  ]);
  await page.waitForLoadState();
  const bob = await fetch(`${srv.url}/api/v1/users`, {
    method: "POST",
    headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({ userName: "bob@local", name: { givenName: "Bob", familyName: "Local" }, emails: [{ value: "bob@local", primary: true }], active: false }),
  });
  assert.equal(bob.status, 201, await bob.clone().text());
  ids.bob = (await bob.json()).id;
  const local = await fetch(`${srv.url}/api/v1/groups`, {
    method: "POST",
    headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({ displayName: "Local admins" }),
  });
  assert.equal(local.status, 201);
  ids.local = (await local.json()).id;
  const attribute = await fetch(`${srv.url}/api/v1/attributes`, {
    method: "POST",
    headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({ name: "badgeColour", type: "string" }),
  });
  assert.equal(attribute.status, 201, await attribute.clone().text());

  await page.getByRole("link", { name: "Audit" }).click();
  await page.waitForURL(/\/audit$/);
  assert.equal(await page.title(), "Audit · scimd");
  const all = await textOf(page.locator("#audit"));
  for (const a of ["signin", "token.create", "user.create", "group.create", "attribute.create"]) {
    assert.ok(all.includes(a), `${a} in the audit page`);
  }
  for (const w of WIDTHS) {
    await page.setViewportSize({ width: w, height: 900 });
    await screenshot(page, `views-audit-${w}`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });

  // Filter by action (the form works without scripts: submit it).
  await page.getByLabel("Action").selectOption("token.create");
  await page.waitForURL(/action=token.create/);
  await page.locator("#audit").waitFor();
  const actions = await page.locator("#audit > li .record-head code").allTextContents();
  assert.ok(actions.length >= 2 && actions.every((a) => a === "token.create"), actions.join());
  // ... and by channel: the command line's token only.
  await page.goto(`${srv.url}/audit?action=token.create&source=cli`);
  const cli = await textOf(page.locator("#audit"));
  assert.ok(cli.includes("views-admin") && !cli.includes("audit-probe"), cli);
  // ... by actor: the portal administrator's actions only.
  await page.goto(`${srv.url}/audit?actor=admin`);
  const byAdmin = await page.locator("#audit > li").allTextContents();
  assert.ok(byAdmin.length >= 2 && byAdmin.every((t) => /admin\s*\(administrator, via portal\)/.test(t)), byAdmin.join("\n"));
  // ... by time: nothing before 2001.
  await page.goto(`${srv.url}/audit?until=2001-01-01T00:00`);
  assert.match(await textOf(page.locator("#results")), /No records match/);
  // A malformed filter is said, never silently dropped.
  await page.goto(`${srv.url}/audit?action=nope`);
  assert.match(await textOf(page.getByRole("alert")), /Unknown action/);

  // Downloads hold what the filters select.
  await page.goto(`${srv.url}/audit?action=token.create`);
  const csvHref = await page.getByRole("link", { name: "Download CSV" }).getAttribute("href");
  const csv = await page.request.get(`${srv.url}${csvHref}`);
  assert.equal(csv.status(), 200);
  assert.match(csv.headers()["content-type"], /^text\/csv/);
  const csvLines = (await csv.text()).trim().split(/\r\n/);
  assert.match(csvLines[0], /^seq,time,txn,actor/);
  assert.equal(csvLines.length - 1, actions.length);
  const jsonlHref = await page.getByRole("link", { name: "Download JSON Lines" }).getAttribute("href");
  const jsonl = await page.request.get(`${srv.url}${jsonlHref}`);
  assert.equal(jsonl.status(), 200);
  const entries = (await jsonl.text()).trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(entries.length, actions.length);
  assert.ok(entries.every((e) => e.action === "token.create"));
});

test("provisioning warnings stand out on the dashboard and the User Provisioning page", async () => {
  // Ann's POST carried attributes of an unknown schema URN; a second user, sent with two
  // primary emails, is normalised.
  const dup = await scim(srv, "POST", "/Users", {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:User", ACME],
    userName: "cy@contoso.com",
    name: { givenName: "Cy", familyName: "Ng" },
    emails: [{ value: "cy@contoso.com", primary: true }, { value: "cy.ng@contoso.com", primary: true }],
    [ACME]: { costCode: "CC-9" },
  });
  assert.equal(dup.status, 201, JSON.stringify(dup.body));
  for (const path of ["/dashboard", "/admin/provisioning"]) {
    await page.goto(`${srv.url}${path}`);
    const region = page.getByRole("region", { name: /Warning: provisioning needs attention/ });
    assert.ok(await region.isVisible(), `${path}: the warnings region`);
    const unknown = region.locator('li[data-kind="unknown-schema"]');
    const u = await textOf(unknown);
    assert.ok(u.includes(ACME), u);
    assert.match(u, /2 users, 2 writes/);
    assert.match(u, /Since \(UTC\) \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    assert.match(u, /set the tenant's custom schema URN to urn:ietf:params:scim:schemas:extension:acme:2\.0:User/);
    assert.match(u, /add the attributes/);
    const normalised = await textOf(region.locator('li[data-kind="normalised"]'));
    assert.match(normalised, /Values were normalised/);
    assert.match(normalised, /Attribute emails/);
    assert.match(normalised, /1 user, 1 write/);
    // It stands out by more than colour: a region with a heading that says "Warning", a
    // thick border.
    const border = await region.evaluate((el) => getComputedStyle(el).borderLeftWidth);
    assert.ok(parseFloat(border) >= 6, border);
    for (const w of WIDTHS) {
      await page.setViewportSize({ width: w, height: 900 });
      await screenshot(page, `views-warnings${path.replaceAll("/", "-")}-${w}`);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  }
  // The admin API's dashboard answers the same counts.
  const d = await api("/dashboard");
  const w = d.warnings.find((x) => x.kind === "unknown-schema");
  assert.equal(w.subject, ACME);
  assert.equal(w.users, 2);
});

test("menu headings, favicon, a menu that collapses at 360 px and no page that scrolls sideways", async () => {
  await page.goto(`${srv.url}/dashboard`);
  const nav = page.getByRole("navigation", { name: "Main" });
  const identity = nav.getByRole("list", { name: "Identity" });
  const system = nav.getByRole("list", { name: "System" });
  assert.deepEqual(
    (await identity.getByRole("link").allTextContents()).slice(0, 3),
    ["User Provisioning", "Users", "Groups"],
  );
  assert.deepEqual(
    await system.getByRole("link").allTextContents(),
    ["Attributes", "Settings", "Tokens", "Audit"],
  );
  // The favicon: linked from the head, served, small.
  assert.equal(await page.locator('head link[rel="icon"]').getAttribute("href"), "/favicon.ico");
  const icon = await page.request.get(`${srv.url}/favicon.ico`);
  assert.equal(icon.status(), 200);
  assert.equal(icon.headers()["content-type"], "image/x-icon");
  const bytes = await icon.body();
  assert.ok(bytes.length < 4096 && bytes.readUInt16LE(2) === 1, "an ICO file");

  await page.setViewportSize({ width: 360, height: 800 });
  await page.goto(`${srv.url}/dashboard`);
  const toggle = page.getByRole("button", { name: "Menu" });
  assert.ok(await toggle.isVisible());
  assert.equal(await toggle.getAttribute("aria-expanded"), "false");
  assert.equal(await nav.isVisible(), false, "the menu is collapsed");
  await screenshot(page, "views-menu-collapsed-360");
  await toggle.click();
  assert.equal(await toggle.getAttribute("aria-expanded"), "true");
  assert.ok(await nav.isVisible());
  assert.ok(await identity.getByRole("link", { name: "User Provisioning" }).isVisible());
  await screenshot(page, "views-menu-open-360");
  await Promise.all([page.waitForURL(/\/admin\/provisioning$/), identity.getByRole("link", { name: "User Provisioning" }).click()]);
  await page.setViewportSize({ width: 1280, height: 900 });
  assert.equal(await toggle.isVisible(), false, "no toggle on a wide screen");
  assert.ok(await nav.isVisible());
});

test("the menu marks the page's entry, the breadcrumb names its menu heading, and the last crumb is no link", async () => {
  // [path, the entry marked current, its heading (the breadcrumb's second item)]
  const pages = [
    ["/admin/provisioning", "User Provisioning", "Identity"],
    ["/admin/provisioning/settings", "Settings", "System"],
    ["/admin/attributes", "Attributes", "System"],
    ["/audit", "Audit", "System"],
    ["/users", "Users", "Identity"],
    ["/groups", "Groups", "Identity"],
    ["/log", "Provisioning log", "Identity"],
  ];
  const nav = page.getByRole("navigation", { name: "Main" });
  for (const [path, entry, heading] of pages) {
    await page.goto(`${srv.url}${path}`);
    const current = nav.locator('[aria-current="page"]');
    assert.deepEqual(await current.allTextContents(), [entry], path);
    assert.equal(await textOf(nav.getByRole("list", { name: heading }).locator('[aria-current="page"]')), entry, path);
    const crumbs = page.getByRole("navigation", { name: "Breadcrumb" }).getByRole("listitem");
    assert.deepEqual((await crumbs.allTextContents()).slice(0, 2), ["Admin", heading], path);
    assert.equal(await crumbs.last().getByRole("link").count(), 0, `${path}: the last crumb is the page`);
  }
  // Tokens (under System) links to the tokens section of User Provisioning: there it is the
  // entry marked, alone.
  await page.goto(`${srv.url}/dashboard`);
  await Promise.all([page.waitForURL(/#tokens$/), nav.getByRole("link", { name: "Tokens" }).click()]);
  assert.deepEqual(await nav.locator('[aria-current="page"]').allTextContents(), ["Tokens"]);
});

test("every portal page: axe-core finds no serious or critical violation, and nothing scrolls sideways, at 1280 and 360 px", async () => {
  // An active local user: its Profile tab is an edit form with Disable and Soft delete.
  const cara = await fetch(`${srv.url}/api/v1/users`, {
    method: "POST",
    headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({ userName: "cara@local", name: { givenName: "Cara", familyName: "Local" }, emails: [{ value: "cara@local", primary: true }] }),
  });
  assert.equal(cara.status, 201, await cara.clone().text());
  ids.cara = (await cara.json()).id;
  const found = [];
  const check = async (p, name, path) => {
    for (const w of WIDTHS) {
      await p.setViewportSize({ width: w, height: 900 });
      const res = await p.goto(`${srv.url}${path}`);
      assert.ok(res.status() < 500, `${path}: ${res.status()}`);
      for (const v of await axeViolations(p)) found.push(`${path} at ${w} px: ${v}`);
      const [scroll, client, wide] = await p.evaluate(() => {
        const c = document.documentElement.clientWidth;
        // What sticks out (elements, and text running out of its element) outside the tables'
        // own scrolling containers, for the message.
        const texts = [];
        const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        for (let n = walk.nextNode(); n; n = walk.nextNode()) {
          const r = document.createRange();
          r.selectNodeContents(n);
          if (r.getBoundingClientRect().right > c + 0.5) texts.push(n.parentElement);
        }
        const wide = [...document.querySelectorAll("body *"), ...texts]
          .filter((el) => el.getBoundingClientRect().right > c + 0.5 || texts.includes(el))
          .filter((el) => !el.closest(".table-wrap"))
          .slice(-3)
          .map((el) => `${el.tagName.toLowerCase()}.${[...el.classList].join(".")}#${el.id}`);
        return [document.documentElement.scrollWidth, c, wide];
      });
      if (scroll > client) found.push(`${path} at ${w} px scrolls sideways: ${scroll} > ${client} (${wide.join(", ")})`);
      await screenshot(p, `views-page-${name}-${w}`);
    }
  };
  for (const [name, path] of pages()) await check(page, name, path);
  await page.setViewportSize({ width: 1280, height: 900 });
  const anonymous = await launch();
  try {
    const p = await anonymous.context.newPage();
    for (const [name, path] of PUBLIC_PAGES) await check(p, name, path);
  } finally {
    await anonymous.close();
  }
  assert.deepEqual(found, [], found.join("\n"));
});
