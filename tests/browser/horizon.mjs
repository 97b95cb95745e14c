// Drives Debian's Horizon with headless Chromium, as a person would, for
// tests/horizon_test.go. Configuration comes as JSON in $HORIZON_TEST:
//   url, username, password     Horizon and the user to log in as
//   image, flavor, network      what the Launch Instance wizard picks
//   securityGroup, keypair
//   newKeypair                  a key pair to create with Horizon's dialog
//   instance                    the name of the instance to launch
//   artifacts                   a folder for screenshots on failure
//   activeTimeoutMs             how long the instance may take to be Active
// It prints one line per step ("STEP ..."), and on failure "FAIL ..." with
// everything seen wrong, and exits 1. Any 5xx answer from Horizon, any
// visible error alert or toast, and any Django error page is a failure.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const cfg = JSON.parse(process.env.HORIZON_TEST);
const base = cfg.url.replace(/\/$/, '');
const navTimeout = 60_000;
const problems = [];
const fail = (msg) => { throw new Error(msg); };
const step = (msg) => console.log(`STEP ${new Date().toISOString()} ${msg}`);

// watchErrors records, in every document, each visible error alert (Django
// messages, Angular toasts, wizard errors) once, with its text.
function watchErrors() {
  const seen = new Set();
  const visible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const scan = () => {
    for (const el of document.querySelectorAll('.alert-danger, .alert-error, .toast-error')) {
      const text = (el.innerText || '').trim().replace(/\s+/g, ' ');
      if (text && visible(el) && !seen.has(text)) {
        seen.add(text);
        window.__hzError(text);
      }
    }
    for (const el of document.querySelectorAll('.alert, .messages li')) {
      const text = (el.innerText || '').trim().replace(/\s+/g, ' ');
      if (/(^|\s)Error:/.test(text) && visible(el) && !seen.has(text)) {
        seen.add(text);
        window.__hzError(text);
      }
    }
  };
  let timer = null;
  const later = () => { if (!timer) timer = setTimeout(() => { timer = null; scan(); }, 100); };
  new MutationObserver(later).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  document.addEventListener('DOMContentLoaded', scan);
}

async function main() {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1400, height: 1000 } });
  context.setDefaultTimeout(navTimeout);
  const page = await context.newPage();
  await page.exposeFunction('__hzError', (text) => problems.push(`error shown on ${page.url()}: ${text}`));
  await page.addInitScript(watchErrors);
  page.on('response', (r) => {
    if (r.status() >= 500 && r.url().startsWith(base)) {
      problems.push(`${r.status()} from Horizon: ${r.request().method()} ${r.url()}`);
    }
  });
  page.on('pageerror', (e) => console.log(`page error (not failing): ${e.message.split('\n')[0]}`));
  try {
    await run(page);
  } catch (e) {
    problems.push(e.stack || String(e));
  }
  if (problems.length > 0) {
    await saveArtifacts(page);
  }
  await browser.close();
  if (problems.length > 0) {
    console.log('FAIL\n' + problems.map((p) => '  - ' + p).join('\n'));
    process.exit(1);
  }
  console.log('PASS');
}

async function saveArtifacts(page) {
  try {
    fs.mkdirSync(cfg.artifacts, { recursive: true });
    const file = path.join(cfg.artifacts, 'failure.png');
    await page.screenshot({ path: file, fullPage: true });
    fs.writeFileSync(path.join(cfg.artifacts, 'failure.html'), await page.content());
    console.log(`screenshot and page source in ${cfg.artifacts}`);
  } catch (e) {
    console.log(`no screenshot: ${e.message}`);
  }
}

// check fails on errors seen so far, naming where.
function check(where) {
  if (problems.length > 0) fail(`after ${where}`);
}

// open loads a Horizon page and checks it is no error page.
async function open(page, url, title) {
  step(`open ${url}`);
  const resp = await page.goto(base + url, { waitUntil: 'load' });
  await page.waitForLoadState('networkidle', { timeout: 15_000 }).catch(() => {});
  const status = resp ? resp.status() : 0;
  const pageTitle = await page.title();
  // Horizon's error pages (500.html, 404.html, 403.html and its
  // "Forbidden" variant) by their titles, whatever the status.
  if (status >= 400 || /^\s*(-\s*)?(Server error|Page Not Found|Unauthorized|Forbidden)\b/.test(pageTitle)) {
    fail(`${url} answered ${status} "${pageTitle}"`);
  }
  if (title && !pageTitle.startsWith(title)) fail(`${url}: title "${pageTitle}", want "${title} - ..."`);
  if (page.url().includes('/auth/login')) fail(`${url} sent us back to the login page`);
  check(url);
}

async function login(page) {
  step(`log in as ${cfg.username}`);
  await page.goto(base + '/auth/login/');
  await page.fill('#id_username', cfg.username);
  await page.fill('#id_password', cfg.password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/auth/login')), page.click('button[type=submit]')]);
  check('login');
}

// cellRow is the row of the table on the page whose cells include text.
function cellRow(scope, text) {
  const page = typeof scope.page === 'function' ? scope.page() : scope;
  return scope.locator('tr').filter({ has: page.getByRole('cell', { name: text, exact: true }) });
}

async function run(page) {
  await login(page);
  await open(page, '/project/', 'Instance Overview');
  await page.getByText('Limit Summary').waitFor();
  await open(page, '/project/images', 'Images');
  await cellRow(page, cfg.image).first().waitFor();
  await open(page, '/project/key_pairs', 'Key Pairs');
  await cellRow(page, cfg.keypair).first().waitFor();
  if (cfg.newKeypair) await createKeyPair(page, cfg.newKeypair);
  if (cfg.network) {
    await open(page, '/project/networks/', 'Networks');
    await page.locator('tr', { hasText: cfg.network }).first().waitFor();
    await open(page, '/project/network_topology/', 'Network Topology');
  }
  await open(page, '/project/instances/', 'Instances');
  await launch(page);
  const id = await waitActive(page);
  await checkUsage(page);
  await open(page, `/project/instances/${id}/`, cfg.instance);
  await page.getByText('IP Addresses').first().waitFor();
  await open(page, `/project/instances/${id}/?tab=instance_details__audit`, cfg.instance);
  await page.getByRole('cell', { name: 'Create', exact: true }).first().waitFor();
  await consoleTab(page, id);
  check('the last step');
}

// createKeyPair creates a key pair with Horizon's dialog: its private key
// downloads, a success toast says so, and the table lists it.
async function createKeyPair(page, name) {
  step(`create key pair ${name}`);
  await page.getByRole('button', { name: 'Create Key Pair' }).first().click();
  const dialog = page.locator('.modal-dialog');
  await dialog.locator('input[name="name"]').fill(name);
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 30_000 }),
    dialog.locator('.modal-footer button.btn-primary').click(),
  ]);
  if (download.suggestedFilename() !== `${name}.pem`) fail(`the private key downloads as ${download.suggestedFilename()}`);
  await page.locator('.alert-success', { hasText: name }).first().waitFor();
  await cellRow(page, name).first().waitFor();
  check('creating a key pair');
}

// allocate moves the row named name from the wizard step's Available table
// to its Allocated one (the up-arrow button), unless it is allocated already.
async function allocate(step, name) {
  const page = step.page();
  const up = page.locator('button.fa-arrow-up');
  const down = page.locator('button.fa-arrow-down');
  const rows = step.locator('tr').filter({ has: page.getByRole('cell', { name, exact: true }) });
  await rows.first().waitFor();
  const allocated = rows.filter({ has: down });
  if (await allocated.count() > 0) return;
  await rows.filter({ has: up }).first().locator('button.fa-arrow-up').click();
  await allocated.first().waitFor();
}

async function wizardStep(wizard, title) {
  await wizard.locator('.wizard-nav li', { hasText: title }).first().click();
  const current = wizard.locator('.step:visible');
  await current.waitFor();
  return current;
}

async function launch(page) {
  step('Launch Instance wizard');
  await page.locator('#instances__action_launch-ng').click();
  const wizard = page.locator('.ng-wizard');
  await wizard.waitFor();
  // The model loads flavors, images, key pairs and networks: wait for it.
  await wizard.locator('#name').waitFor();
  await wizard.locator('#name').fill(cfg.instance);

  let s = await wizardStep(wizard, 'Source');
  await allocate(s, cfg.image);
  s = await wizardStep(wizard, 'Flavor');
  await allocate(s, cfg.flavor);
  if (cfg.network) {
    s = await wizardStep(wizard, 'Networks');
    await allocate(s, cfg.network);
  }
  if (cfg.securityGroup) {
    s = await wizardStep(wizard, 'Security Groups');
    await allocate(s, cfg.securityGroup);
  }
  s = await wizardStep(wizard, 'Key Pair');
  await allocate(s, cfg.keypair);
  check('filling the wizard');
  step('submit the wizard');
  const finish = wizard.locator('button.finish');
  if (await finish.isDisabled()) fail('Launch Instance stays disabled: a step is incomplete');
  await finish.click();
  await wizard.waitFor({ state: 'detached', timeout: 60_000 });
  check('launching');
}

// columnText is the text of row's cell in the instances table column
// headed title.
async function columnText(page, row, title) {
  const heads = (await page.locator('#instances thead tr').last().locator('th').allInnerTexts()).map((h) => h.trim());
  const i = heads.indexOf(title);
  if (i < 0) fail(`the instances table has no column ${title}: ${heads.join(', ')}`);
  return (await row.locator('td').nth(i).innerText()).trim();
}

// waitActive reloads the instances table until the instance is Active with
// an IP address and returns its id.
async function waitActive(page) {
  step(`wait until ${cfg.instance} is Active with an address`);
  const deadline = Date.now() + (cfg.activeTimeoutMs || 300_000);
  let last = '';
  for (;;) {
    await open(page, '/project/instances/', 'Instances');
    const row = page.locator('#instances tbody tr').filter({ has: page.getByRole('link', { name: cfg.instance, exact: true }) });
    if (await row.count() > 0) {
      last = (await row.first().innerText()).replace(/\s+/g, ' ');
      const status = await columnText(page, row.first(), 'Status');
      const ip = await columnText(page, row.first(), 'IP Address');
      if (status === 'Error') fail(`instance went to Error: ${last}`);
      if (status === 'Active' && (!cfg.network || /\d+\.\d+\.\d+\.\d+/.test(ip))) {
        step(`instance row: ${last}`);
        return row.first().getAttribute('data-object-id');
      }
    }
    if (Date.now() > deadline) fail(`instance not Active with an address in time; last row: "${last}"`);
    await page.waitForTimeout(3000);
  }
}

// checkUsage reads the Overview's usage summary: one server a few minutes
// old has used well under an hour of VCPU (a period ending in the future
// must end now).
async function checkUsage(page) {
  await open(page, '/project/', 'Instance Overview');
  const dd = page.locator('dt', { hasText: "This Period's VCPU-Hours" }).locator('xpath=following-sibling::dd[1]');
  const hours = parseFloat(await dd.innerText());
  step(`usage summary: ${hours} VCPU-hours`);
  if (!(hours >= 0 && hours < 1)) fail(`the Overview shows ${hours} VCPU-hours for one server minutes old`);
}

// consoleTab opens the instance's Console tab and checks the noVNC frame
// loads from the URL os-getVNCConsole gave.
async function consoleTab(page, id) {
  await open(page, `/project/instances/${id}/?tab=instance_details__console`, cfg.instance);
  const frame = page.locator('iframe#console_embed');
  if (await frame.count() === 0) {
    const text = (await page.locator('.tab-content').innerText().catch(() => '')).replace(/\s+/g, ' ');
    fail(`the Console tab has no console frame: "${text}"`);
  }
  const src = await frame.getAttribute('src');
  step(`console frame ${src}`);
  const resp = await page.request.get(src);
  if (!resp.ok()) fail(`console URL ${src} answered ${resp.status()}`);
  // noVNC completes the RFB handshake through the proxy and names the
  // desktop in its status bar.
  const status = page.frameLocator('iframe#console_embed').locator('#status');
  try {
    await status.filter({ hasText: /^Connected to / }).waitFor({ timeout: 30_000 });
  } catch (e) {
    fail(`noVNC did not connect: status "${await status.innerText().catch(() => '?')}"`);
  }
  step(`console: ${await status.innerText()}`);
}

await main();
