// Drives Debian's Horizon with headless Chromium, as a person would, for
// tests/horizon_test.go. Configuration comes as JSON in $HORIZON_TEST:
//   url, username, password     Horizon and the user to log in as
//   project                     that user's project
//   admin                       {username, password} of the admin
//   image, flavor, network      what the Launch Instance wizard picks
//   securityGroup, keypair
//   newKeypair                  a key pair to create with Horizon's dialog
//   instance, renamed           the instance's name, and its name once edited
//   snapshot                    the name of its snapshot
//   resizeFlavor                the flavor it is resized to
//   privateFlavor               a flavor the admin creates for project only
//   steps                       {resize, suspend, shelve, hypervisorServers}:
//                               the optional flows to run; instance: false
//                               stops after the image steps (a focused run)
//   artifacts                   a folder for screenshots on failure
//   shots                       a folder for screenshots of key pages, or ""
//   activeTimeoutMs             how long the instance may take to be Active
//   imageURL                    the image API's URL, as the catalog gives it
//   metadata                    {image, flavor, launch, instance}: each
//                               {namespace, label, name, value}, a property
//                               to add with the metadefs tree of the image's
//                               and the private flavor's Update Metadata
//                               (as admin), the Launch wizard's Metadata step
//                               and the instance's Update Metadata
//   metadataImage               the image whose metadata the admin edits
//   uploads                     [{mode, name, file}]: images to create with
//                               Create Image from a local file, in Horizon's
//                               upload mode ('legacy': Horizon proxies the
//                               file; 'direct': the browser PUTs it to the
//                               image API, cross-origin)
// It prints one line per step ("STEP ..."), and on failure "FAIL ..." with
// everything seen wrong, and exits 1. Any 5xx answer the browser sees, any
// visible error alert or toast (but allowedErrors) and any Django error
// page is a failure.
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

// allowedErrors are the error toasts some Horizon pages show for Neutron
// features outside the subset imagestack serves, each with why; any other
// error toast fails the test.
const allowedErrors = [
];

// pages are the open pages by who uses them, for screenshots on failure.
const pages = {};

async function main() {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    await run(browser);
  } catch (e) {
    problems.push(e.stack || String(e));
  }
  if (problems.length > 0) {
    for (const [who, page] of Object.entries(pages)) await saveArtifacts(page, who);
  }
  await browser.close();
  if (problems.length > 0) {
    console.log('FAIL\n' + problems.map((p) => '  - ' + p).join('\n'));
    process.exit(1);
  }
  console.log('PASS');
}

// newPage opens a page in a browser context of its own (its own session)
// that reports every 5xx answer it sees (Horizon's, the console proxy's)
// and every error toast not allowed.
async function newPage(browser, who) {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1400, height: 1000 } });
  context.setDefaultTimeout(navTimeout);
  const page = await context.newPage();
  pages[who] = page;
  await page.exposeFunction('__hzError', (text) => {
    const allowed = allowedErrors.find((a) => a.text.test(text));
    if (allowed) {
      console.log(`allowed error on ${page.url()} (${allowed.why}): ${text}`);
      return;
    }
    problems.push(`error shown to ${who} on ${page.url()}: ${text}`);
  });
  await page.addInitScript(watchErrors);
  page.on('response', (r) => {
    if (r.status() >= 500) problems.push(`${r.status()} seen by ${who}: ${r.request().method()} ${r.url()}`);
  });
  page.on('pageerror', (e) => console.log(`page error (not failing): ${e.message.split('\n')[0]}`));
  return page;
}

// shot saves a screenshot of page as <name>.png in cfg.shots, if set.
async function shot(page, name) {
  if (!cfg.shots) return;
  fs.mkdirSync(cfg.shots, { recursive: true });
  await page.screenshot({ path: path.join(cfg.shots, `${name}.png`), fullPage: true });
  step(`screenshot ${name}.png`);
}

async function saveArtifacts(page, who) {
  try {
    fs.mkdirSync(cfg.artifacts, { recursive: true });
    const file = path.join(cfg.artifacts, `failure-${who}.png`);
    await page.screenshot({ path: file, fullPage: true, timeout: 15_000 });
    fs.writeFileSync(path.join(cfg.artifacts, `failure-${who}.html`), await page.content());
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

async function login(page, username, password) {
  step(`log in as ${username}`);
  await page.goto(base + '/auth/login/');
  await page.fill('#id_username', username);
  await page.fill('#id_password', password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/auth/login')), page.click('button[type=submit]')]);
  check('login');
}

// exactly matches a text that is text and nothing more (but white space).
function exactly(text) {
  return new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
}

// cellRow is the row of the table in scope with a cell reading text (td:
// Horizon's sortable tables make their cells gridcells, not cells).
function cellRow(scope, text) {
  const page = typeof scope.page === 'function' ? scope.page() : scope;
  return scope.locator('tr').filter({ has: page.locator('td', { hasText: exactly(text) }) });
}

// steps is which optional flows run (cfg.steps): resize, suspend and shelve
// need server actions, hypervisorServers a route, that main lacks yet.
const steps = cfg.steps || {};

async function run(browser) {
  const page = await newPage(browser, 'demo');
  await login(page, cfg.username, cfg.password);
  await open(page, '/project/', 'Instance Overview');
  await page.getByText('Limit Summary').waitFor();
  for (const u of cfg.uploads || []) await uploadImage(page, u);
  if (steps.instance === false) {
    const admin = await newPage(browser, 'admin');
    await login(admin, cfg.admin.username, cfg.admin.password);
    await metadataPages(admin);
    return check('the image steps');
  }
  await open(page, '/project/key_pairs', 'Key Pairs');
  await cellRow(page, cfg.keypair).first().waitFor();
  if (cfg.newKeypair) await createKeyPair(page, cfg.newKeypair);
  if (cfg.network) {
    await open(page, '/project/networks/', 'Networks');
    await page.locator('tr', { hasText: cfg.network }).first().waitFor();
    await open(page, '/project/network_topology/', 'Network Topology');
  }
  await launchFromImages(page);
  const id = await waitStatus(page, cfg.instance, 'Active', { address: true });
  await shot(page, 'instances-after-launch');
  await checkUsage(page);
  let name = await editInstance(page, id, cfg.instance, cfg.renamed);
  if (cfg.metadata && cfg.metadata.instance) await instanceMetadata(page, id, name);
  await lockUnlock(page, id, name);
  await pauseResume(page, id, name);
  if (steps.suspend) await suspendResume(page, id, name);
  if (steps.resize) await resizeConfirm(page, id, name, cfg.resizeFlavor);
  await createSnapshot(page, id, name, cfg.snapshot);
  if (steps.shelve) await shelveUnshelve(page, id, name);
  await detailTabs(page, id, name);
  const admin = await newPage(browser, 'admin');
  await adminPages(admin, name);
  await seesFlavor(page, cfg.privateFlavor);
  await deleteInstance(page, id, name);
  check('the last step');
}

// detailTabs opens the instance's Overview, Action Log (a row for each
// action taken) and Console tabs.
async function detailTabs(page, id, name) {
  await open(page, `/project/instances/${id}/`, name);
  await page.getByText('IP Addresses').first().waitFor();
  await open(page, `/project/instances/${id}/?tab=instance_details__audit`, name);
  const want = ['Create', 'Lock', 'Unlock', 'Pause', 'Unpause'];
  if (steps.suspend) want.push('Suspend', 'Resume');
  if (steps.resize) want.push('Resize', 'Confirm Resize');
  if (steps.shelve) want.push('Shelve', 'Unshelve');
  for (const action of want) {
    await page.locator('#audit td', { hasText: exactly(action) }).first().waitFor({ timeout: 10_000 })
      .catch(() => fail(`the Action Log has no ${action} row`));
  }
  step(`action log: ${(await page.locator('#audit tbody').innerText()).replace(/\s+/g, ' ')}`);
  await shot(page, 'action-log');
  await consoleTab(page, id, name);
}

// adminPages logs in as the admin and opens Admin > Overview (the demo
// project's usage row), Hypervisors (the host with the instance, and the
// Compute Host tab) and Flavors, where it creates a private flavor the demo
// project may use.
async function adminPages(page, instance) {
  await login(page, cfg.admin.username, cfg.admin.password);
  await open(page, '/admin/', 'Usage Overview');
  const usage = cellRow(page.locator('#global_usage'), cfg.project).first();
  await usage.waitFor().catch(() => fail(`Admin > Overview has no usage row for ${cfg.project}`));
  step(`admin usage row: ${(await usage.innerText()).replace(/\s+/g, ' ')}`);
  await shot(page, 'admin-overview');
  await open(page, '/admin/hypervisors/', 'Hypervisors');
  const hv = page.locator('#hypervisors tbody tr').first();
  await hv.waitFor();
  const heads = (await page.locator('#hypervisors thead tr').last().locator('th').allInnerTexts()).map((h) => h.trim());
  const cells = (await hv.locator('td').allInnerTexts()).map((c) => c.trim());
  const figure = (title) => cells[heads.indexOf(title)];
  step(`hypervisor row: ${heads.map((h, i) => `${h}=${cells[i]}`).join(', ')}`);
  if (!figure('Hostname') || !(parseInt(figure('VCPUs (total)'), 10) > 0)) fail('the hypervisor row lacks its host or VCPUs');
  if (!(parseInt(figure('Instances'), 10) >= 1) || !(parseInt(figure('VCPUs (used)'), 10) >= 1)) {
    fail(`the hypervisor does not count ${instance}`);
  }
  await shot(page, 'admin-hypervisors');
  if (steps.hypervisorServers) await hypervisorServers(page, hv, figure('Hostname'), instance);
  await open(page, '/admin/hypervisors/?tab=hypervisor_info__compute_host', 'Hypervisors');
  await page.locator('#compute_host tbody tr').first().waitFor();
  step(`compute host row: ${(await page.locator('#compute_host tbody tr').first().innerText()).replace(/\s+/g, ' ')}`);
  await createPrivateFlavor(page, cfg.privateFlavor, cfg.project);
  await metadataPages(page);
  check('the admin pages');
}

// hypervisorServers opens the host's page from its row: it lists the
// instance (Horizon searches at 2.1: GET /os-hypervisors/{host}/servers).
async function hypervisorServers(page, row, host, instance) {
  step(`hypervisor ${host}'s servers`);
  await Promise.all([page.waitForEvent('load'), row.getByRole('link', { name: host, exact: true }).click()]);
  check('the hypervisor page');
  await cellRow(page.locator('#hypervisor_instances'), instance).first().waitFor({ timeout: 15_000 })
    .catch(() => fail(`the hypervisor's page does not list ${instance}`));
}

// createPrivateFlavor creates a flavor with Admin > Flavors' Create Flavor
// workflow, giving project access in its Flavor Access step (which makes it
// private), and checks the table lists it as not public.
async function createPrivateFlavor(page, name, project) {
  await open(page, '/admin/flavors/', 'Flavors');
  step(`Create Flavor ${name} for ${project}`);
  await page.locator('#flavors__action_create').click();
  const modal = page.locator('.modal.in');
  await modal.locator('#id_name').fill(name);
  await modal.locator('#id_vcpus').fill('1');
  await modal.locator('#id_memory_mb').fill('64');
  await modal.locator('#id_disk_gb').fill('1');
  await modal.locator('a[href="#create_flavor__flavor_access"]').click();
  const member = modal.locator('.available_flavor_access .btn-group').filter({ has: page.locator('.display_name', { hasText: new RegExp(`^${project}$`) }) });
  await member.locator('a[href="#add_remove"]').click();
  await modal.locator('.flavor_access_members .display_name', { hasText: project }).waitFor();
  await Promise.all([page.waitForEvent('load'), modal.locator('.modal-footer [type=submit]').first().click()]);
  const row = cellRow(page.locator('#flavors'), name).first();
  await row.waitFor();
  const text = (await row.innerText()).replace(/\s+/g, ' ');
  step(`flavor row: ${text}`);
  if (!/\bNo\b/.test(text)) fail(`the flavor ${name} is listed as public: ${text}`);
  check('Create Flavor');
}

// seesFlavor opens the Launch Instance wizard's Flavor step as the demo
// user and looks for flavor (private, the project given access), then
// cancels.
async function seesFlavor(page, flavor) {
  await open(page, '/project/instances/', 'Instances');
  step(`Launch Instance lists the private flavor ${flavor}`);
  await page.locator('#instances__action_launch-ng').click();
  const wizard = page.locator('.ng-wizard');
  await wizard.locator('#name').waitFor();
  const s = await wizardStep(wizard, 'Flavor');
  await cellRow(s, flavor).first().waitFor({ timeout: 15_000 })
    .catch(() => fail(`the demo project's Launch Instance wizard does not list ${flavor}`));
  await wizard.locator('button', { hasText: 'Cancel' }).first().click();
  await wizard.waitFor({ state: 'detached' });
  check('the private flavor in Launch Instance');
}

// instanceMetadata adds a property with the instance's Update Metadata
// dialog; the instance's Overview then lists it with the one the Launch
// wizard's Metadata step gave.
async function instanceMetadata(page, id, name) {
  await open(page, '/project/instances/', 'Instances');
  await updateMetadata(page, page.locator(`#instances tr[data-object-id="${id}"]`), cfg.metadata.instance, `instance ${name}`);
  await open(page, `/project/instances/${id}/`, name);
  for (const prop of [cfg.metadata.launch, cfg.metadata.instance].filter(Boolean)) {
    const dd = page.locator('dt', { hasText: exactly(prop.name) }).locator('xpath=following-sibling::dd[1]');
    const value = await dd.first().innerText({ timeout: 10_000 }).catch(() => '');
    if (value.trim() !== prop.value) fail(`the instance's Overview shows ${prop.name}="${value.trim()}", want "${prop.value}"`);
  }
  step(`instance metadata: ${cfg.metadata.launch ? cfg.metadata.launch.name + ', ' : ''}${cfg.metadata.instance.name} shown`);
}

// metadataPages edits, as the admin, the metadata of an image (Admin >
// Images) and of the private flavor (Admin > Flavors) with their Update
// Metadata dialogs, each adding a property from a metadefs namespace.
async function metadataPages(page) {
  const md = cfg.metadata || {};
  if (md.image) {
    await open(page, '/admin/images', 'Images');
    await updateMetadata(page, cellRow(page, cfg.metadataImage).first(), md.image, `image ${cfg.metadataImage}`);
  }
  if (md.flavor) {
    await open(page, '/admin/flavors/', 'Flavors');
    await updateMetadata(page, cellRow(page.locator('#flavors'), cfg.privateFlavor).first(), md.flavor, `flavor ${cfg.privateFlavor}`);
  }
}

// updateMetadata opens the Update Metadata action of row (in the row's
// menu unless it shows as a button), adds the property prop with the
// dialog's metadefs tree and saves.
async function updateMetadata(page, row, prop, what) {
  step(`Update Metadata of ${what}: ${prop.name}=${prop.value}`);
  await row.waitFor();
  const action = row.locator('a, button').filter({ hasText: exactly('Update Metadata') }).first();
  if (!(await action.isVisible())) await row.locator('.dropdown-toggle').first().click();
  await action.click();
  const modal = page.locator('.modal-content').filter({ has: page.locator('.metadata-tree') });
  await addMetadata(modal, prop);
  await shot(page, `update-metadata-${what.split(' ')[0]}`);
  await modal.locator('.modal-footer .btn-primary').click();
  await modal.waitFor({ state: 'detached', timeout: 30_000 });
  await page.waitForLoadState('networkidle', { timeout: 15_000 }).catch(() => {});
  check(`Update Metadata of ${what}`);
}

// addMetadata finds prop.label under the namespace prop.namespace (and the
// object after " > ", if any) in the metadata tree's Available list
// (Glance's metadefs for the resource type), adds it and sets its value;
// the Existing list names it prop.name (with the resource type's prefix).
async function addMetadata(scope, prop) {
  const page = typeof scope.page === 'function' ? scope.page() : scope;
  const tree = scope.locator('.metadata-tree');
  const available = tree.locator('.col-md-6').first().locator('li.list-group-item');
  const byLabel = (text) => available.filter({ has: page.locator('span[ng-bind="::item.label"]', { hasText: exactly(text) }) }).first();
  // "namespace > object": each level is expanded in turn.
  for (const level of prop.namespace.split(' > ')) {
    await byLabel(level).waitFor({ timeout: 30_000 })
      .catch(() => fail(`the metadata tree offers no "${level}" (${prop.namespace})`));
    await byLabel(level).locator('.pull-left').click();
  }
  await byLabel(prop.label).locator('a.btn-primary').click();
  const item = tree.locator('metadata-tree-item').filter({ has: page.locator(`.input-group-addon[title="${prop.name}"]`) });
  await item.waitFor({ timeout: 10_000 }).catch(() => fail(`the metadata tree added no ${prop.name}`));
  const select = item.locator('select[name=property]');
  if (await select.count() > 0) await select.selectOption({ label: prop.value });
  else await item.locator('input[name=property]').fill(prop.value);
}

// uploadImage creates the image u.name from the local file u.file with the
// Images panel's Create Image wizard in Horizon's upload mode u.mode (the
// test's Horizon takes it from the imagestack_upload_mode cookie), checks
// where the file went (direct: a cross-origin PUT to the image API that the
// browser let through; legacy: a POST to Horizon and nothing to the image
// API) and waits until the table lists the image Active.
async function uploadImage(page, u) {
  await page.context().addCookies([{ name: 'imagestack_upload_mode', value: u.mode, url: base }]);
  await open(page, '/project/images', 'Images');
  step(`Create Image ${u.name} from a file, ${u.mode} upload`);
  const imageAPI = [];
  const record = (r) => { if (r.url().startsWith(cfg.imageURL)) imageAPI.push(`${r.request().method()} ${r.status()} ${r.url()}`); };
  const horizonPosts = [];
  const recordPost = (r) => { if (r.method() === 'POST' && r.url() === `${base}/api/glance/images/`) horizonPosts.push(r.url()); };
  page.on('response', record);
  page.on('request', recordPost);
  try {
    await page.getByRole('button', { name: 'Create Image' }).first().click();
    const wizard = page.locator('.ng-wizard');
    await wizard.locator('#imageForm-name').fill(u.name);
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), wizard.locator('#imageForm-image_file').click()]);
    await chooser.setFiles(u.file);
    await wizard.locator('#imageForm-format').selectOption({ label: 'Raw' });
    check('filling Create Image');
    await wizard.locator('button.finish').click();
    await wizard.waitFor({ state: 'detached', timeout: 120_000 });
    await waitImageActive(page, u.name);
  } finally {
    page.off('response', record);
    page.off('request', recordPost);
  }
  step(`${u.mode} upload: image API saw ${imageAPI.join('; ') || 'nothing'}; Horizon got ${horizonPosts.length} POST`);
  if (u.mode === 'direct' && !imageAPI.some((r) => /^PUT 204 .*\/v2\/images\/[^/]+\/file$/.test(r))) {
    fail('direct upload: the browser made no successful PUT to the image API');
  }
  if (u.mode === 'legacy' && (imageAPI.length > 0 || horizonPosts.length !== 1)) {
    fail('legacy upload: the file must go through Horizon (one POST), not to the image API');
  }
  check(`${u.mode} upload`);
  await shot(page, `images-after-${u.mode}-upload`);
}

// waitImageActive reloads the Images panel until the image's row reads Active.
async function waitImageActive(page, name) {
  const deadline = Date.now() + 60_000;
  let last = '';
  for (;;) {
    await open(page, '/project/images', 'Images');
    const row = cellRow(page, name).first();
    await row.waitFor({ timeout: 15_000 }).catch(() => {});
    if (await row.count() > 0) {
      last = (await row.innerText()).replace(/\s+/g, ' ');
      if (/\bActive\b/.test(last)) break;
    }
    if (Date.now() > deadline) fail(`image ${name} not Active in time; last row: "${last}"`);
    await page.waitForTimeout(1000);
  }
  step(`image row: ${last}`);
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

// launchFromImages launches the instance with the Launch button of the
// image's row in the Images panel: the wizard opens with the image as its
// source.
async function launchFromImages(page) {
  await open(page, '/project/images', 'Images');
  const row = cellRow(page, cfg.image).first();
  await row.waitFor();
  step('Launch Instance wizard from the Images panel');
  await row.getByRole('button', { name: 'Launch', exact: true }).click();
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
  if (cfg.metadata && cfg.metadata.launch) {
    s = await wizardStep(wizard, 'Metadata');
    await addMetadata(s, cfg.metadata.launch);
  }
  check('filling the wizard');
  step('submit the wizard');
  const finish = wizard.locator('button.finish');
  if (await finish.isDisabled()) fail('Launch Instance stays disabled: a step is incomplete');
  await finish.click();
  await wizard.waitFor({ state: 'detached', timeout: 60_000 });
  check('launching');
  await page.getByText(/Scheduled creation of 1 instance|requested/).first().waitFor({ timeout: 10_000 }).catch(() => {});
}

// columnText is the text of row's cell in the instances table column
// headed title.
async function columnText(page, row, title) {
  const heads = (await page.locator('#instances thead tr').last().locator('th').allInnerTexts()).map((h) => h.trim());
  const i = heads.indexOf(title);
  if (i < 0) fail(`the instances table has no column ${title}: ${heads.join(', ')}`);
  return (await row.locator('td').nth(i).innerText()).trim();
}

// instanceRow is the instances table's row of the instance named name.
function instanceRow(page, name) {
  return page.locator('#instances tbody tr').filter({ has: page.getByRole('link', { name, exact: true }) }).first();
}

// waitStatus reloads the instances table until the instance named name
// shows status (with an IP address when opts.address) and returns its id.
async function waitStatus(page, name, status, opts = {}) {
  step(`wait until ${name} is ${status}${opts.address ? ' with an address' : ''}`);
  const deadline = Date.now() + (opts.timeoutMs || cfg.activeTimeoutMs || 300_000);
  let last = '';
  for (;;) {
    await open(page, '/project/instances/', 'Instances');
    const row = instanceRow(page, name);
    if (await row.count() > 0) {
      last = (await row.innerText()).replace(/\s+/g, ' ');
      const now = await columnText(page, row, 'Status');
      const ip = await columnText(page, row, 'IP Address');
      if (now === 'Error') fail(`instance went to Error: ${last}`);
      if (now === status && (!opts.address || /\d+\.\d+\.\d+\.\d+/.test(ip))) {
        step(`instance row: ${last}`);
        return row.getAttribute('data-object-id');
      }
    }
    if (Date.now() > deadline) fail(`instance not ${status} in time; last row: "${last}"`);
    await page.waitForTimeout(2000);
  }
}

// rowAction clicks the instance's row action called action (Horizon's
// name for it: edit, lock, pause...), opening the row's menu when the
// action is in it; label is the text the action must show.
async function rowAction(page, id, action, label) {
  const button = page.locator(`[id="instances__row_${id}__action_${action}"]`);
  if (await button.count() === 0) {
    const row = (await page.locator(`#instances tr[data-object-id="${id}"]`).innerText()).replace(/\s+/g, ' ');
    fail(`the instance offers no ${label || action} action: ${row}`);
  }
  if (!(await button.isVisible())) await page.locator(`#instances tr[data-object-id="${id}"] .dropdown-toggle`).first().click();
  const text = (await button.innerText()).trim();
  if (label && text !== label) fail(`the ${action} action reads "${text}", want "${label}"`);
  await button.click();
}

// batchAction runs a row action that posts the table's form (lock, pause...)
// and waits for the page after it to say done ("Locked Instance: name").
async function batchAction(page, id, name, action, label, done) {
  step(`${label} (${name})`);
  await open(page, '/project/instances/', 'Instances');
  await Promise.all([page.waitForEvent('load'), rowAction(page, id, action, label)]);
  await page.locator('.alert-success', { hasText: `${done}: ${name}` }).first().waitFor({ timeout: 15_000 })
    .catch(() => fail(`no "${done}: ${name}" message after ${label}`));
  check(label);
}

// modalForm opens the instance's row action whose form shows in a modal,
// lets fill fill it and submits it; it returns once the page it leads to
// has loaded.
async function modalForm(page, id, name, action, label, fill) {
  step(`${label} (${name})`);
  await open(page, '/project/instances/', 'Instances');
  await rowAction(page, id, action, label);
  const modal = page.locator('.modal.in');
  await modal.locator('form').first().waitFor();
  await fill(modal);
  await Promise.all([page.waitForEvent('load'), modal.locator('.modal-footer [type=submit]').first().click()]);
  await page.waitForLoadState('networkidle', { timeout: 15_000 }).catch(() => {});
  check(label);
}

// editInstance renames the instance with Edit Instance and returns the new name.
async function editInstance(page, id, name, renamed) {
  await modalForm(page, id, name, 'edit', 'Edit Instance', (modal) => modal.locator('#id_name').fill(renamed));
  await page.locator('.alert-success', { hasText: renamed }).first().waitFor({ timeout: 15_000 });
  await waitStatus(page, renamed, 'Active');
  return renamed;
}

async function lockUnlock(page, id, name) {
  await batchAction(page, id, name, 'lock', 'Lock Instance', 'Locked Instance');
  await batchAction(page, id, name, 'unlock', 'Unlock Instance', 'Unlocked Instance');
}

// pauseResume pauses the instance and resumes it (Horizon's name for
// unpause), the status column following.
async function pauseResume(page, id, name) {
  await batchAction(page, id, name, 'pause', 'Pause Instance', 'Paused Instance');
  await waitStatus(page, name, 'Paused', { timeoutMs: 60_000 });
  await batchAction(page, id, name, 'pause', 'Resume Instance', 'Resumed Instance');
  await waitStatus(page, name, 'Active', { timeoutMs: 60_000 });
}

// suspendResume suspends the instance and resumes it (its own toggle, whose
// second state Horizon also calls Resume Instance).
async function suspendResume(page, id, name) {
  await batchAction(page, id, name, 'suspend', 'Suspend Instance', 'Suspended Instance');
  await waitStatus(page, name, 'Suspended', { timeoutMs: 120_000 });
  await batchAction(page, id, name, 'suspend', 'Resume Instance', 'Resumed Instance');
  await waitStatus(page, name, 'Active', { timeoutMs: 120_000 });
}

// shelveUnshelve shelves the instance (Horizon offers Unshelve only once it
// is Shelved Offloaded) and unshelves it.
async function shelveUnshelve(page, id, name) {
  await batchAction(page, id, name, 'shelve', 'Shelve Instance', 'Shelved Instance');
  await waitStatus(page, name, 'Shelved Offloaded', { timeoutMs: 180_000 });
  await batchAction(page, id, name, 'shelve', 'Unshelve Instance', 'Unshelved Instance');
  await waitStatus(page, name, 'Active', { timeoutMs: 240_000, address: true });
}

// resizeConfirm resizes the instance to flavor with the Resize Instance
// workflow, confirms the resize (the row's first action in state
// VERIFY_RESIZE) and checks the flavor column.
async function resizeConfirm(page, id, name, flavor) {
  await modalForm(page, id, name, 'resize', 'Resize Instance', async (modal) => {
    // The flavor is a themable select: its <select> is hidden.
    const ok = await modal.locator('select#id_flavor').evaluate((sel, want) => {
      const opt = [...sel.options].find((o) => o.text.trim() === want);
      if (!opt) return false;
      sel.value = opt.value;
      sel.dispatchEvent(new Event('change', { bubbles: true }));
      return true;
    }, flavor);
    if (!ok) fail(`Resize Instance offers no flavor ${flavor}`);
  });
  await waitStatus(page, name, 'Confirm or Revert Resize/Migrate', { timeoutMs: 240_000 });
  step(`Confirm Resize/Migrate (${name})`);
  await Promise.all([page.waitForEvent('load'), rowAction(page, id, 'confirm', 'Confirm Resize/Migrate')]);
  await waitStatus(page, name, 'Active', { timeoutMs: 120_000 });
  const now = await columnText(page, instanceRow(page, name), 'Flavor');
  if (now !== flavor) fail(`after the resize the flavor column reads ${now}, want ${flavor}`);
}

// createSnapshot snapshots the instance with Create Snapshot: Horizon goes
// to the Images panel, which lists the snapshot.
async function createSnapshot(page, id, name, snapshot) {
  await modalForm(page, id, name, 'snapshot', 'Create Snapshot', (modal) => modal.locator('#id_name').fill(snapshot));
  if (!new URL(page.url()).pathname.startsWith('/project/images')) fail(`Create Snapshot led to ${page.url()}`);
  await cellRow(page, snapshot).first().waitFor({ timeout: 30_000 });
  step(`image row: ${(await cellRow(page, snapshot).first().innerText()).replace(/\s+/g, ' ')}`);
  check('Create Snapshot');
}

// deleteInstance deletes the instance with its row action (a dangerous one:
// Horizon asks to confirm) and waits until the table no longer lists it.
async function deleteInstance(page, id, name) {
  step(`Delete Instance (${name})`);
  await open(page, '/project/instances/', 'Instances');
  await rowAction(page, id, 'delete', 'Delete Instance');
  const confirm = page.locator('.modal.in .modal-footer .btn-danger');
  await Promise.all([page.waitForEvent('load'), confirm.click()]);
  await page.locator('.alert-info', { hasText: `Scheduled deletion of Instance: ${name}` }).first().waitFor({ state: 'attached', timeout: 15_000 });
  const deadline = Date.now() + 120_000;
  for (;;) {
    await open(page, '/project/instances/', 'Instances');
    if (await instanceRow(page, name).count() === 0) break;
    if (Date.now() > deadline) fail(`${name} is still listed 2 minutes after its deletion`);
    await page.waitForTimeout(2000);
  }
  check('Delete Instance');
}

// checkUsage reads the Overview's usage summary: one server a few minutes
// old has used well under an hour of VCPU (a period ending in the future
// must end now).
async function checkUsage(page) {
  await open(page, '/project/', 'Instance Overview');
  await page.locator('#project_usage').waitFor();
  const dd = page.locator('dt', { hasText: "This Period's VCPU-Hours" }).locator('xpath=following-sibling::dd[1]');
  const hours = parseFloat(await dd.innerText());
  step(`usage summary: ${hours} VCPU-hours`);
  if (!(hours >= 0 && hours < 1)) fail(`the Overview shows ${hours} VCPU-hours for one server minutes old`);
}

// consoleTab opens the instance's Console tab and checks the noVNC frame
// loads from the URL os-getVNCConsole gave.
async function consoleTab(page, id, name) {
  await open(page, `/project/instances/${id}/?tab=instance_details__console`, name);
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
