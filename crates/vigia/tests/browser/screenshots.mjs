// Screenshots of every dashboard page, in the light and the dark theme, at
// 1280×800 and on a 390×844 phone screen. Run by scripts/dashboard-screenshots.sh
// against a service it starts; writes docs/screenshots/PAGE-THEME-SIZE.png.
//
// Environment: VIGIA_URL, VIGIA_ADMIN_TOKEN, VIGIA_SHOTS (the folder), CHROMIUM.

import puppeteer from "puppeteer-core";

const base = process.env.VIGIA_URL;
const token = process.env.VIGIA_ADMIN_TOKEN;
const dir = process.env.VIGIA_SHOTS;

async function api(path, body) {
  const r = await fetch(base + path, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return r.json();
}

const critical = await api("/findings/list", {
  filterCriteria: { findingStatus: [{ comparison: "EQUALS", value: "ACTIVE" }] },
  sortCriteria: { field: "INSPECTOR_SCORE", sortOrder: "DESC" },
  maxResults: 1,
});
const image = await api("/coverage/list", {
  filterCriteria: { resourceType: [{ comparison: "EQUALS", value: "AWS_ECR_CONTAINER_IMAGE" }] },
});
const pages = [
  ["login", "/ui/login"],
  ["overview", "/ui/"],
  ["findings", "/ui/findings"],
  ["finding", `/ui/finding?arn=${encodeURIComponent(critical.findings[0].findingArn)}`],
  ["resources", "/ui/resources"],
  ["resource", `/ui/resource?id=${encodeURIComponent(image.coveredResources[0].resourceId)}`],
  ["rules", "/ui/rules"],
  ["settings", "/ui/settings"],
];
const sizes = [
  ["desktop", { width: 1280, height: 800 }],
  ["phone", { width: 390, height: 844, deviceScaleFactor: 1, isMobile: true, hasTouch: true }],
];

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
  const page = await browser.newPage();
  await page.setViewport(sizes[0][1]);
  await page.goto(base + "/ui/login", { waitUntil: "load" });
  await page.type("#token", token);
  await Promise.all([page.waitForNavigation(), page.click("form:nth-of-type(2) button[type=submit]")]);
  for (const [name, path] of pages) {
    for (const theme of ["light", "dark"]) {
      for (const [size, viewport] of sizes) {
        await page.setViewport(viewport);
        await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: theme }]);
        const ctx = name === "login" ? await browser.createBrowserContext() : null;
        const p = ctx ? await ctx.newPage() : page;
        if (ctx) {
          await p.setViewport(viewport);
          await p.emulateMediaFeatures([{ name: "prefers-color-scheme", value: theme }]);
        }
        await p.goto(base + path, { waitUntil: "load" });
        await p.screenshot({ path: `${dir}/${name}-${theme}-${size}.png` });
        if (ctx) await ctx.close();
        console.log(`${name}-${theme}-${size}.png`);
      }
    }
  }
} finally {
  await browser.close();
}
