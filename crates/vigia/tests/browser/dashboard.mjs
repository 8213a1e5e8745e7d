// The dashboard in real headless Chromium (Debian's `chromium`), driven by
// puppeteer-core, against a running `vigia serve` seeded by
// crates/vigia/tests/dashboard.rs. Every check compares what a page shows
// with what the API answers for the same question.
//
// Environment: VIGIA_URL, VIGIA_ADMIN_TOKEN, VIGIA_VIEWER_TOKEN, VIGIA_USER,
// VIGIA_PASSWORD, VIGIA_OUT (a folder for the downloaded SBOMs), CHROMIUM.
// Exits non-zero naming the first check that failed.

import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import puppeteer from "puppeteer-core";

const base = process.env.VIGIA_URL;
const adminToken = process.env.VIGIA_ADMIN_TOKEN;
const viewerToken = process.env.VIGIA_VIEWER_TOKEN;
const out = process.env.VIGIA_OUT;

async function api(path, body) {
  const r = await fetch(base + path, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const v = await r.json();
  assert.ok(r.ok, `${path}: ${r.status} ${JSON.stringify(v)}`);
  return v;
}

async function allFindings(filterCriteria) {
  let items = [];
  let nextToken;
  do {
    const v = await api("/findings/list", { filterCriteria, maxResults: 100, ...(nextToken ? { nextToken } : {}) });
    items = items.concat(v.findings);
    nextToken = v.nextToken;
  } while (nextToken);
  return items;
}

const eq = (value) => [{ comparison: "EQUALS", value }];
const num = (s) => Number(String(s).replace(/,/g, ""));
let step = "start";
function check(name) {
  step = name;
  console.log(`- ${name}`);
}

// axe-core (Deque's accessibility engine): WCAG 2 A and AA rules, contrast
// among them, evaluated in the page.
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});

try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  const goto = async (path) => {
    const r = await page.goto(base + path, { waitUntil: "load" });
    return r;
  };
  const texts = (sel) => page.$$eval(sel, (els) => els.map((e) => e.textContent.trim()));

  check("a page asks for signing in first");
  await goto("/ui/findings?severity=HIGH");
  assert.match(page.url(), /\/ui\/login\?next=/);

  check("a wrong password is refused");
  await page.type("#name", process.env.VIGIA_USER);
  await page.type("#password", "not the password");
  await Promise.all([page.waitForNavigation(), page.click("form:first-of-type button[type=submit]")]);
  assert.match(await page.$eval("#login-error", (e) => e.textContent), /not valid/);

  check("a sign-in without the form's own token is refused");
  const forgedSignIn = await page.evaluate(async () => {
    const r = await fetch("/ui/login", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "token=vgt_x_y",
      redirect: "manual",
    });
    return r.status;
  });
  assert.equal(forgedSignIn, 403);

  check("guessing is slowed: past 10 failures for one token, 429 with Retry-After");
  const guesses = await page.evaluate(async () => {
    const out = [];
    for (let i = 0; i < 11; i++) {
      const form = new DOMParser().parseFromString(await (await fetch("/ui/login")).text(), "text/html");
      const signin = form.querySelector('input[name="signin"]').value;
      const r = await fetch("/ui/login", {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: `signin=${signin}&token=vgt_guessed_${i}`,
        redirect: "manual",
      });
      out.push([r.status, r.headers.get("Retry-After")]);
    }
    return out;
  });
  assert.deepEqual(guesses.slice(0, 10).map((g) => g[0]), Array(10).fill(200), "refused, and counted");
  assert.equal(guesses[10][0], 429);
  assert.ok(Number(guesses[10][1]) > 0, "Retry-After says when");
  await goto("/ui/findings?severity=HIGH");

  check("signing in with the account goes where the reader was going");
  await page.type("#name", process.env.VIGIA_USER);
  await page.type("#password", process.env.VIGIA_PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click("form:first-of-type button[type=submit]")]);
  assert.match(page.url(), /\/ui\/findings\?severity=HIGH$/);
  const cookies = await page.cookies();
  const session = cookies.find((c) => c.name === "vigia_session");
  assert.ok(session, "a session cookie");
  assert.equal(session.httpOnly, true, "HttpOnly");
  assert.equal(session.sameSite, "Strict", "SameSite=Strict");

  check("the overview's counts are the API's");
  await goto("/ui/");
  const types = await api("/findings/aggregation/list", { aggregationType: "FINDING_TYPE" });
  const sum = (k) => types.responses.reduce((n, r) => n + (r.findingTypeAggregation.severityCounts[k] || 0), 0);
  const countOf = (key) =>
    page.$eval(`[data-count="${key}"]`, (e) => (e.querySelector(".n") || e).textContent.trim()).then(num);
  assert.equal(await countOf("active"), sum("all"), "active findings");
  assert.ok(sum("all") > 0, "the seeded service has active findings");
  assert.equal(await countOf("severity-CRITICAL"), sum("critical"));
  assert.equal(await countOf("severity-HIGH"), sum("high"));
  assert.equal(await countOf("severity-MEDIUM"), sum("medium"));
  assert.equal(await countOf("severity-LOW"), sum("vigiaLow"));
  const cov = await api("/coverage/statistics/list", { groupBy: "RESOURCE_TYPE" });
  assert.equal(await countOf("resources"), cov.totalCounts);
  for (const c of cov.countsByGroup) {
    assert.equal(await countOf(`type-${c.vigiaGroupValue}`), c.count, c.vigiaGroupValue);
  }
  const active = await allFindings({ findingStatus: eq("ACTIVE") });
  assert.equal(active.length, sum("all"), "the aggregation counts every active finding");
  assert.ok((await page.$$("svg.chart rect.bar")).length > 0, "the trend chart has bars");
  const plan = await api("/findings/aggregation/list", {
    aggregationType: "PACKAGE",
    aggregationRequest: { packageAggregation: { sortBy: "CRITICAL", sortOrder: "DESC" } },
    maxResults: 5,
  });
  assert.deepEqual(
    await texts("#fix-plan li code"),
    plan.responses.map((r) => r.packageAggregation.packageName),
    "the fix plan is the package aggregation",
  );

  check("a severity tile links to the findings it counts");
  await Promise.all([page.waitForNavigation(), page.click('[data-count="severity-HIGH"]')]);
  const highApi = active.filter((f) => f.severity === "HIGH");
  let sevs = await texts("#findings-table tbody .sev");
  assert.equal(sevs.length, Math.min(50, highApi.length));
  assert.ok(sevs.every((s) => s === "HIGH"), `only HIGH: ${sevs}`);

  check("filtering by severity with the form");
  await goto("/ui/findings");
  await page.click('input[name=severity][value=CRITICAL]');
  await Promise.all([page.waitForNavigation(), page.click("#filters button[type=submit]")]);
  assert.match(page.url(), /severity=CRITICAL/, "the filter is kept in the URL");
  sevs = await texts("#findings-table tbody .sev");
  const critApi = active.filter((f) => f.severity === "CRITICAL");
  assert.equal(sevs.length, Math.min(50, critApi.length));
  assert.ok(sevs.every((s) => s === "CRITICAL"));

  check("filtering by package");
  const pkg = plan.responses[0].packageAggregation.packageName;
  await goto("/ui/findings");
  await page.type("#f-package", pkg);
  await Promise.all([page.waitForNavigation(), page.click("#filters button[type=submit]")]);
  const pkgApi = await allFindings({
    findingStatus: eq("ACTIVE"),
    vulnerablePackages: [{ name: { comparison: "EQUALS", value: pkg } }],
  });
  const shownTitles = await texts("#findings-table tbody td.name:nth-child(2) a");
  assert.equal(shownTitles.length, Math.min(50, pkgApi.length));
  assert.deepEqual(new Set(shownTitles), new Set(pkgApi.slice(0, 50).map((f) => f.title).filter((t) => shownTitles.includes(t))));
  assert.ok(pkgApi.length > 0);

  check("sorting by a column is kept in the URL");
  await Promise.all([page.waitForNavigation(), page.click('th a[href*="sort=EPSS_SCORE"]')]);
  assert.match(page.url(), /sort=EPSS_SCORE/);
  assert.match(page.url(), new RegExp(`package=${pkg}`));

  check("a finding shows its history and both vectors");
  const adjusted = active.find(
    (f) => f.inspectorScoreDetails?.adjustedCvss && (f.packageVulnerabilityDetails?.cvss || []).length > 0,
  );
  assert.ok(adjusted, "a finding with a base and an adjusted vector");
  await goto(`/ui/finding?arn=${encodeURIComponent(adjusted.findingArn)}`);
  const base0 = adjusted.packageVulnerabilityDetails.cvss.map((c) => c.scoringVector);
  const shownBase = await texts(".base-vector");
  assert.deepEqual(shownBase, base0);
  assert.equal(
    await page.$eval("#adjusted-vector", (e) => e.textContent.trim()),
    adjusted.inspectorScoreDetails.adjustedCvss.scoringVector,
  );
  const hist = await api(`/v1/findings/history?arn=${encodeURIComponent(adjusted.findingArn)}`);
  assert.equal((await page.$$("#history tbody tr")).length, hist.history.length);
  assert.ok(hist.history.length > 0);
  assert.deepEqual(await texts("#history td.event"), hist.history.map((h) => h.event));

  check("a suppression rule made from the filter suppresses, in the page and in the API");
  const pkgFindings = active.filter((f) => f.packageVulnerabilityDetails);
  const target = pkgFindings.find((f) => f.severity === "CRITICAL") || pkgFindings[0];
  const vuln = target.packageVulnerabilityDetails.vulnerabilityId;
  const before = await allFindings({ vulnerabilityId: eq(vuln), findingStatus: eq("ACTIVE") });
  await goto(`/ui/findings?vuln=${encodeURIComponent(vuln)}`);
  await page.click("#suppress summary");
  await page.type("#r-name", "browser-rule");
  await page.type("#r-reason", "accepted risk: not reachable");
  await Promise.all([page.waitForNavigation(), page.click("#suppress button[type=submit]")]);
  assert.match(page.url(), /\/ui\/rules$/);
  const ruleCount = await page.$eval('[data-rule="browser-rule"] a.count', (e) => e.textContent);
  assert.equal(num(ruleCount.split(" ")[0]), before.length, "the rule counts what it suppressed");
  const after = await allFindings({ vulnerabilityId: eq(vuln) });
  assert.ok(after.length >= before.length && after.every((f) => f.status !== "ACTIVE"), "none active in the API");
  await goto(`/ui/finding?arn=${encodeURIComponent(target.findingArn)}`);
  assert.equal(await page.$eval("#status", (e) => e.textContent.trim()), "SUPPRESSED");
  assert.ok(await page.$("#suppressed-by"));
  const filters = await api("/filters/list", {});
  assert.ok(filters.filters.some((f) => f.name === "browser-rule" && f.reason === "accepted risk: not reachable"));

  check("the overview follows the change: its figures are not kept past it");
  // Figures being computed again are shown as of before, saying so; the
  // new ones follow within seconds.
  for (let i = 0; ; i++) {
    await goto("/ui/");
    const stale = await page.$eval("main", (m) => m.textContent.includes("Figures as of"));
    if (!stale) break;
    assert.ok(i < 40, "the overview's figures were never brought up to date");
    await new Promise((r) => setTimeout(r, 250));
  }
  const now = await api("/findings/aggregation/list", { aggregationType: "FINDING_TYPE" });
  const nowActive = now.responses.reduce((n, r) => n + (r.findingTypeAggregation.severityCounts.all || 0), 0);
  assert.equal(nowActive, sum("all") - before.length, "the API counts the suppressed findings out");
  assert.equal(await countOf("active"), nowActive, "active findings after the rule");

  check("searching a vulnerability reaches every affected resource");
  const byVuln = new Map();
  for (const f of await allFindings({})) {
    const id = f.packageVulnerabilityDetails?.vulnerabilityId;
    if (!id) continue;
    if (!byVuln.has(id)) byVuln.set(id, new Set());
    byVuln.get(id).add(f.resources[0].id);
  }
  const [cve, resources] = [...byVuln.entries()].sort((a, b) => b[1].size - a[1].size)[0];
  await goto("/ui/");
  await page.type("#cve", cve.toLowerCase());
  await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
  const links = await page.$$eval("#search-results td:first-child a", (as) => as.map((a) => a.getAttribute("href")));
  const reached = new Set(links.map((h) => decodeURIComponent(new URL(h, base).searchParams.get("id"))));
  assert.deepEqual(reached, resources, `the resources with ${cve}`);
  for (const h of links) {
    await goto(h);
    assert.ok((await page.$("#coverage-status")) !== null, `${h} is a resource page`);
  }

  check("a GitHub advisory ID is found however it is typed");
  const aliased = (await allFindings({})).flatMap((f) =>
    (f.packageVulnerabilityDetails?.relatedVulnerabilities || [])
      .filter((v) => v.startsWith("GHSA-"))
      .map((v) => [v, f.resources[0].id]));
  assert.ok(aliased.length > 0, "a finding has a GitHub advisory as an alias");
  const [ghsa, holder] = aliased[0];
  await goto(`/ui/search?id=${encodeURIComponent(ghsa.toUpperCase())}`);
  const ghsaLinks = await page.$$eval("#search-results td:first-child a", (as) => as.map((a) => a.getAttribute("href")));
  const ghsaReached = new Set(ghsaLinks.map((h) => decodeURIComponent(new URL(h, base).searchParams.get("id"))));
  assert.ok(ghsaReached.has(holder), `${ghsa} typed in upper case reaches ${holder}`);

  check("an SBOM downloads from a resource page");
  await goto(links[0]);
  const sboms = await page.$$eval("a.button[download]", (as) => as.map((a) => a.getAttribute("href")));
  assert.equal(sboms.length, 2);
  for (const href of sboms) {
    const body = await page.evaluate(async (u) => {
      const r = await fetch(u);
      return { status: r.status, disposition: r.headers.get("content-disposition"), text: await r.text() };
    }, href);
    assert.equal(body.status, 200, href);
    assert.match(body.disposition, /^attachment; filename=/);
    const name = href.includes("format=spdx") ? "sbom.spdx.json" : "sbom.cdx.json";
    writeFileSync(`${out}/${name}`, body.text);
  }

  check("a resource without a stored inventory offers no SBOM");
  const broken = `${out}/broken.zip`;
  writeFileSync(broken, "not a zip at all");
  const registered = (await api("/v1/resources/register", { source: broken })).resource;
  let failed;
  for (let i = 0; i < 200 && !failed; i++) {
    const all = (await api("/v1/resources")).resources;
    failed = all.find((r) => r.source === registered.source && r.statusReason === "INTERNAL_ERROR");
    if (!failed) await new Promise((r) => setTimeout(r, 300));
  }
  assert.ok(failed, "the broken zip's scan failed");
  await goto(`/ui/resource?id=${encodeURIComponent(failed.id)}`);
  assert.equal((await page.$$("a.button[download]")).length, 0, "no SBOM link");
  assert.ok((await page.$("#no-sbom")) !== null, "it says why");

  check("an unknown page is a 404 page, and the browser's icon request no error");
  const unknown = await page.goto(`${base}/ui/no-such-page`);
  assert.equal(unknown.status(), 404);
  assert.match(await page.content(), /There is no such page/);
  assert.equal((await fetch(`${base}/favicon.ico`)).status, 204);

  check("a form without its CSRF token is refused");
  const forged = await page.evaluate(async () => {
    const r = await fetch("/ui/rules/delete", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "arn=x",
    });
    return r.status;
  });
  assert.equal(forged, 403);

  check("keyboard only reaches every control, with a visible focus");
  for (const path of ["/ui/", "/ui/findings", "/ui/rules", "/ui/settings", links[0]]) {
    await goto(path);
    // Open every disclosure so that what it holds counts as a control.
    await page.$$eval("details", (ds) => ds.forEach((d) => (d.open = true)));
    const controls = await page.$$eval(
      "a[href], button, input:not([type=hidden]), select, textarea, summary",
      (els) =>
        els
          .filter((e) => !e.disabled && e.getClientRects().length > 0)
          .map((e, i) => {
            e.dataset.kb = String(i);
            return String(i);
          }),
    );
    const seen = new Set();
    await page.evaluate(() => document.activeElement && document.activeElement.blur());
    let noOutline = [];
    for (let i = 0; i < controls.length + 40 && seen.size < controls.length; i++) {
      await page.keyboard.press("Tab");
      const f = await page.evaluate(() => {
        const e = document.activeElement;
        if (!e || !e.dataset.kb) return null;
        const st = getComputedStyle(e);
        const desc = `${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""}${e.name ? "[name=" + e.name + "]" : ""} ${(e.textContent || "").trim().slice(0, 30)}`;
        return {
          kb: e.dataset.kb,
          desc,
          outline: st.outlineStyle !== "none" && parseFloat(st.outlineWidth) > 0,
        };
      });
      if (f) {
        seen.add(f.kb);
        if (!f.outline) noOutline.push(f.desc);
      }
    }
    const missed = controls.filter((c) => !seen.has(c));
    assert.deepEqual(missed, [], `${path}: controls Tab never reached`);
    assert.deepEqual(noOutline, [], `${path}: controls focused without a visible outline`);
  }

  check("every page meets WCAG 2 AA (axe-core), in the light and the dark theme");
  const finding = `/ui/finding?arn=${encodeURIComponent(adjusted.findingArn)}`;
  for (const theme of ["light", "dark"]) {
    await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: theme }]);
    for (const path of ["/ui/", "/ui/findings", finding, "/ui/resources", links[0], "/ui/rules", "/ui/settings", `/ui/search?id=${cve}`]) {
      await goto(path);
      await page.$$eval("details", (ds) => ds.forEach((d) => (d.open = true)));
      await page.evaluate(axeSource);
      const found = await page.evaluate(async () => {
        const r = await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
        return r.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")})`);
      });
      assert.deepEqual(found, [], `${theme} ${path}`);
    }
  }
  await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "light" }]);

  check("a viewer sees no write control and the server refuses its writes");
  const viewer = await browser.createBrowserContext();
  const vp = await viewer.newPage();
  await vp.goto(base + "/ui/login", { waitUntil: "load" });
  await vp.type("#token", viewerToken);
  await Promise.all([vp.waitForNavigation(), vp.click("form:nth-of-type(2) button[type=submit]")]);
  for (const path of ["/ui/", "/ui/findings", "/ui/rules", links[0], `/ui/finding?arn=${encodeURIComponent(target.findingArn)}`]) {
    await vp.goto(base + path, { waitUntil: "load" });
    const writes = await vp.$$eval('form[method="post"]', (fs) => fs.map((f) => f.getAttribute("action")));
    assert.deepEqual(writes, ["/ui/logout"], `${path}: a viewer's page has only the sign-out form`);
  }
  assert.equal(await vp.$$eval('nav a[href="/ui/settings"]', (a) => a.length), 0);
  const settings = await vp.goto(base + "/ui/settings", { waitUntil: "load" });
  assert.equal(settings.status(), 403);
  await vp.goto(base + "/ui/rules", { waitUntil: "load" });
  const refused = await vp.evaluate(async () => {
    const csrf = document.querySelector('form[action="/ui/logout"] input[name=csrf]').value;
    const r = await fetch("/ui/rules/create", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ csrf, name: "viewer-rule", reason: "x", query: "severity=LOW" }).toString(),
    });
    return r.status;
  });
  assert.equal(refused, 403);
  assert.ok(!(await api("/filters/list", {})).filters.some((f) => f.name === "viewer-rule"));

  check("signing out ends the session");
  await Promise.all([vp.waitForNavigation(), vp.click('form[action="/ui/logout"] button')]);
  const again = await vp.goto(base + "/ui/findings", { waitUntil: "load" });
  assert.match(again.url(), /\/ui\/login/);
  console.log("every check passed");
} catch (e) {
  console.error(`FAILED at "${step}": ${e.stack || e}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
