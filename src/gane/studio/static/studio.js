// gane studio: the page. Every action is one call of the JSON API (app.py); long ones are jobs the
// page polls for their latest image. No framework, nothing fetched from elsewhere.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { run: null, info: null, tab: "sample", images: [], current: null, paint: null, paintStarting: null };
// Every POST carries this header: the server refuses POSTs without it (other sites cannot send it unasked).
const PAGE_HEADER = { "X-Gane-Studio": "1" };

// ------------------------------------------------------------------ talking to the server
async function api(path, body) {
  const init = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json", ...PAGE_HEADER }, body: JSON.stringify(body) };
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new Error("The studio's server cannot be reached (was it stopped?).");
  }
  let data;
  try { data = await response.json(); } catch (e) { data = { error: `The server answered ${response.status} without a message.` }; }
  if (!response.ok) throw new Error(data.error || `The server answered ${response.status}.`);
  return data;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Answers can arrive out of order (a slow one for the image before): each action takes a ticket, and
// shows its answer only while its ticket is still the latest of its kind.
const tickets = {};
function ticket(kind) {
  const mine = (tickets[kind] = (tickets[kind] || 0) + 1);
  return () => tickets[kind] === mine;
}
class Stale extends Error { constructor() { super("cancelled: a newer request replaced it"); } }
function check(fresh) { if (!fresh()) throw new Stale(); }

// Start a job and follow it: onStep(stateOfJob) for each new preview; resolves with its result.
async function follow(start, onStep, fresh) {
  const { job } = await start;
  for (;;) {
    const s = await api(`/api/jobs/${job}`);
    if (fresh && !fresh()) throw new Stale();
    if (onStep) onStep(s);
    if (s.state === "done") return s.result;
    if (s.state === "error") throw new Error(s.error);
    if (s.state === "cancelled") throw new Error("cancelled: a newer request replaced it");
    await sleep(80);
  }
}

function say(text, kind) {
  const box = $("message");
  if (!text) { box.hidden = true; box.textContent = ""; return; }
  box.textContent = text;
  box.className = kind === "note" ? "note" : "";
  box.hidden = false;
}

// Run an action, showing its error on the page instead of losing it.
async function guard(fn) {
  try { say(""); return await fn(); } catch (e) {
    if (!String(e.message).startsWith("cancelled")) say(e.message);
    return undefined;
  }
}

function progressOf(bar, s) {
  bar.max = Math.max(1, s.steps || 1);
  bar.value = s.step || 0;
}

// ------------------------------------------------------------------ runs and images
async function loadRuns(keep) {
  const data = await api("/api/runs");
  const select = $("run-select");
  const before = keep || select.value;
  select.innerHTML = "";
  for (const r of data.runs) {
    const o = document.createElement("option");
    o.value = r.id; o.textContent = `${r.id} — ${r.family} (${r.checkpoint})`;
    select.appendChild(o);
  }
  if (!data.runs.length) { say(`No runs under ${data.root}: train one (make demo), then press ↻.`); return; }
  if (before && data.runs.some((r) => r.id === before)) select.value = before;
  await chooseRun(select.value);
}

async function chooseRun(id) {
  const fresh = ticket("run");
  const info = await api("/api/describe", { run: id });
  check(fresh);
  dropJobs();
  state.run = id;
  state.paint = null;
  state.restoreImage = null;
  state.images = state.images.filter((im) => im.uploaded);  // the last run's test images go with it
  $("gallery").dataset.run = "";
  renderGallery();
  applyInfo(info);
  await loadExamples();
  const first = ["sample", "encode", "edit", "paint", "restore", "translate"].find((t) => info.tabs[t]);
  showTab(info.tabs[state.tab] ? state.tab : first || state.tab);
}

async function loadExamples(domain) {
  const info = state.info;
  if (!info || !(info.kind === "image" || info.kind === "pair")) { $("gallery").innerHTML = ""; return; }
  const d = domain || (info.tabs.translate ? sourceDomain() : "A");
  const fresh = ticket("examples");
  const data = await api("/api/examples", { run: state.run, n: 12, domain: d });
  check(fresh);
  const uploads = state.images.filter((im) => im.uploaded);
  state.images = [...uploads, ...data.images];
  renderGallery();
  $("gallery").dataset.run = state.run;
  if (!state.current || !state.images.some((im) => im.id === state.current.id) || !state.current.uploaded) {
    await setCurrent(data.images[0]);
  } else {
    await setCurrent(state.current);
  }
}

function renderGallery() {
  const g = $("gallery");
  g.innerHTML = "";
  for (const im of state.images) {
    const el = document.createElement("img");
    el.src = im.png; el.alt = im.name; el.title = im.name; el.className = "px" + (state.current && im.id === state.current.id ? " chosen" : "");
    el.dataset.id = im.id;
    el.addEventListener("click", () => guard(() => setCurrent(im)));
    g.appendChild(el);
  }
  for (const select of document.querySelectorAll(".image-select")) {
    const before = select.value;
    select.innerHTML = "";
    for (const im of state.images) {
      const o = document.createElement("option");
      o.value = im.id; o.textContent = im.name;
      select.appendChild(o);
    }
    if (state.images.some((im) => im.id === before)) select.value = before;
    else if (state.images.length > 1) select.selectedIndex = Math.min(state.images.length - 1, select.id === "arith-c" ? 2 : 1);
  }
}

// A new image or run makes the work under way for the old one stale: its answers are dropped, and
// a Paint start still under way no longer counts, so the Paint tab starts again for the new image.
function dropJobs() {
  for (const kind of ["invert", "paint", "restore", "arithmetic"]) ticket(kind);
  state.paintStarting = null;
}

async function setCurrent(im) {
  if (!im) return;
  dropJobs();
  state.current = im;
  state.paint = null;
  state.restoreImage = null;
  $("current-image").src = im.png;
  $("current-name").textContent = im.name;
  renderGallery();
  await refreshTab();
}

async function upload(file) {
  const response = await fetch("/api/upload", {
    method: "POST", body: file,
    headers: { "Content-Type": file.type || "application/octet-stream", "X-Filename": encodeURIComponent(file.name).slice(0, 200), ...PAGE_HEADER },
  });
  let data;
  try { data = await response.json(); } catch (e) { data = { error: `The upload failed (${response.status}).` }; }
  if (!response.ok) throw new Error(data.error);
  const im = { id: data.id, name: data.name, png: data.png, uploaded: true };
  state.images.unshift(im);
  await setCurrent(im);
}

// ------------------------------------------------------------------ tabs
function showTab(tab) {
  state.tab = tab;
  for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.tab === tab);
  for (const p of document.querySelectorAll(".panel")) p.hidden = p.id !== `panel-${tab}`;
  const why = $("tab-why");
  const info = state.info;
  if (info && !info.tabs[tab]) {
    why.textContent = `This run cannot use ${tab}: ${info.why[tab] || ""}`;
    why.hidden = false;
    $(`panel-${tab}`).hidden = true;
  } else {
    why.hidden = true;
  }
  refreshTab();
}

async function refreshTab() {
  const info = state.info;
  if (!info || !info.tabs[state.tab]) return;
  const tab = state.tab;
  if (tab === "sample") return guard(drawSamples);
  if (!state.current) return;
  if (tab === "encode") return guard(encode);
  if (tab === "edit") return guard(editSetup);
  if (tab === "paint") return state.paint || state.paintStarting ? undefined : guard(paintStart);  // keep the work in progress
  if (tab === "restore") return state.restoreImage === state.current.id ? undefined : guard(restoreSetup);
  if (tab === "translate") return guard(translate);
}

// What the run is and can do: the summary line, the tabs it can use, and the controls' choices.
function applyInfo(info) {
  state.info = info;
  const shape = info.shape.join("x");
  $("run-summary").textContent = `${info.family}${info.step != null ? `, step ${info.step}` : ""}, ${info.kind} ${shape}${info.data ? `, ${info.data}` : ""}`;
  showTabStates(info);
  fillRunControls(info);
}

function showTabStates(info) {
  for (const b of document.querySelectorAll("#tabs button")) {
    const tab = b.dataset.tab;
    b.disabled = !info.tabs[tab];
    b.title = info.tabs[tab] ? "" : (info.why[tab] || "");
  }
}

// The encoder lists, and the methods that need an encoder. Each list keeps its choice where it still
// can; ``prefer`` (a newly fitted encoder) is chosen where the list had none.
function fillEncoders(info, prefer) {
  const have = info.encoders || [];
  for (const select of document.querySelectorAll(".encoder-select")) {
    const before = select.value;
    select.innerHTML = "";
    for (const e of have) {
      const o = document.createElement("option");
      o.value = e; o.textContent = e === "own" ? `${info.family}'s own E` : `fitted: ${e}`;
      select.appendChild(o);
    }
    select.disabled = !have.length;
    if (!have.length) select.innerHTML = "<option value=''>none</option>";
    else if (have.includes(before)) select.value = before;
    else if (prefer && have.includes(prefer)) select.value = prefer;
  }
  $("invert-method").querySelector("[value=hybrid]").disabled = !have.length;
  if (!have.length) $("invert-method").value = "optimize";
  for (const m of ["hybrid", "encoder"]) $("restore-method").querySelector(`[value=${m}]`).disabled = !have.length;
  if (!have.length) $("restore-method").value = "optimize";
}

function resetFit() {
  $("fit-live").removeAttribute("src");
  $("fit-cap").textContent = "press Fit and save";
  $("fit-progress").value = 0;
}

function fillRunControls(info) {
  for (const select of document.querySelectorAll(".encoder-select")) select.value = "";  // a new run: its own first choice
  fillEncoders(info);
  resetFit();
  // fitting an encoder
  const fitMethod = $("fit-method"), chosen = fitMethod.value;
  fitMethod.innerHTML = (info.fit_methods || []).map((m) => `<option value="${m}">${m}</option>`).join("");
  if ((info.fit_methods || []).includes(chosen)) fitMethod.value = chosen;
  // sample
  const cls = $("sample-class");
  cls.innerHTML = "<option value=''>any</option>";
  for (let k = 0; k < (info.classes || 0); k++) cls.innerHTML += `<option value="${k}">${k}</option>`;
  $("sample-class-box").hidden = !info.classes;
  const parts = $("sample-parts");
  parts.innerHTML = "";
  for (const p of info.parts || []) {
    const label = document.createElement("label");
    if (p.kind === "categorical") {
      let options = "<option value=''>random</option>";
      for (let k = 0; k < p.size; k++) options += `<option value="${k}">${k}</option>`;
      label.innerHTML = `${p.name} <select data-part="${p.name}" data-kind="categorical">${options}</select>`;
    } else {
      label.innerHTML = `${p.name} <input type="checkbox" data-fix="${p.name}" title="fix ${p.name}"> <input type="range" data-part="${p.name}" data-kind="uniform" min="-1" max="1" step="0.1" value="0">`;
    }
    parts.appendChild(label);
  }
  for (const el of parts.querySelectorAll("select, input")) el.addEventListener("change", () => guard(drawSamples));
  $("sample-psi-box").hidden = !info.truncation;
  $("sample-psi").value = 1; $("sample-psi-value").textContent = "1"; $("sample-toward").value = "";
  // inversion spaces
  $("invert-space").innerHTML = (info.spaces || ["z"]).map((s) => `<option value="${s}">${s}</option>`).join("");
  $("invert-space-box").hidden = (info.spaces || []).length < 2;
  // restoration
  $("restore-task").innerHTML = (info.restore_tasks || []).map((t) => `<option value="${t}">${t}</option>`).join("");
  restoreOptions();
  // translation
  $("translate-to").innerHTML = (info.directions_to || []).map((d) => `<option value="${d}">${d === "B" ? "A to B" : "B to A"}</option>`).join("");
  state.directions = null;
}

// ------------------------------------------------------------------ Sample
async function drawSamples() {
  const parts = {};
  for (const el of $("sample-parts").querySelectorAll("[data-part]")) {
    if (el.dataset.kind === "categorical") parts[el.dataset.part] = el.value === "" ? null : Number(el.value);
    else parts[el.dataset.part] = $("sample-parts").querySelector(`[data-fix="${el.dataset.part}"]`).checked ? Number(el.value) : null;
  }
  const cls = $("sample-class").value;
  const fresh = ticket("sample");
  const out = await api("/api/sample", {
    run: state.run, seed: Number($("sample-seed").value) || 0, n: Number($("sample-n").value),
    cls: cls === "" ? null : Number(cls), parts, psi: Number($("sample-psi").value),
    clusters: $("sample-toward").value === "" ? null : Number($("sample-toward").value),
  });
  check(fresh);
  $("sample-grid").src = out.png;
  $("sample-note").textContent = out.note || "";
}

// ------------------------------------------------------------------ Encode
function score(q) { return `PSNR ${q.psnr.toFixed(2)} dB, SSIM ${q.ssim.toFixed(3)}`; }

async function encode() {
  const info = state.info;
  $("encode-live").removeAttribute("src");
  $("encode-live-cap").textContent = "optimised inversion: press Invert";
  const fresh = ticket("encode"), image = state.current.id;
  const out = await api("/api/encode", { run: state.run, image, encoder: $("encode-encoder").value || null });
  check(fresh);
  $("encode-x").src = out.x;
  $("encode-recon").dataset.image = image;
  if (out.recon) {
    $("encode-recon").src = out.recon;
    $("encode-recon-cap").textContent = `G(E(x)): ${score(out)}, ${out.ms.toFixed(1)} ms`;
  } else {
    $("encode-recon").removeAttribute("src");
    $("encode-recon-cap").textContent = out.note;
  }
}

async function invert() {
  const bar = $("invert-progress");
  const fresh = ticket("invert");
  const method = $("invert-method").value, steps = $("invert-steps").value;
  const result = await follow(api("/api/invert", {
    run: state.run, image: state.current.id, method: $("invert-method").value, steps: Number($("invert-steps").value),
    space: $("invert-space").value || "z", encoder: $("encode-encoder").value || null,
  }), (s) => {
    progressOf(bar, s);
    if (s.preview) $("encode-live").src = s.preview;
    $("encode-live-cap").textContent = `${method}: step ${s.step} of ${s.steps}`;
  }, fresh);
  $("encode-live").src = result.png;
  $("encode-live-cap").textContent = `${method} (${steps} steps, ${result.seconds.toFixed(2)} s): ${score(result)}`;
}

// Fit an encoder to the run's G and save it. It goes on while the page looks at another image or run
// (it is saved into the run it started on, and a fit of another run goes on beside it); a new fit of
// the same run replaces it. When it is done, that run's encoder lists and tabs are refreshed.
async function fitEncoder() {
  const run = state.run, method = $("fit-method").value, steps = Number($("fit-steps").value);
  const name = $("fit-name").value.trim() || method;
  const bar = $("fit-progress"), cap = $("fit-cap");
  const fresh = ticket("fit");
  resetFit();
  cap.textContent = `fitting ${name} (${method})...`;
  let result;
  try {
    result = await follow(api("/api/fit-encoder", { run, method, name, steps }), (s) => {
      if (state.run !== run) return;
      progressOf(bar, s);
      if (s.preview) $("fit-live").src = s.preview;
      const done = s.step ? `${method}: step ${s.step} of ${s.steps}${s.preview ? ", a training image's G(E(x))" : ""}` : "";
      cap.textContent = [done, s.note].filter(Boolean).join("; ") || `fitting ${name} (${method})...`;
    }, fresh);
  } catch (e) {
    if (fresh() && state.run === run) cap.textContent = `${name} was not saved: ${e.message}`;
    throw e;
  }
  if (state.run !== run) { say(`The encoder ${result.name} of ${run} is saved.`, "note"); return; }
  cap.textContent = `saved as ${result.path} (${result.seconds.toFixed(1)} s); it is now in the encoder lists`;
  const info = await api("/api/describe", { run });
  if (state.run !== run) return;
  state.info = info;
  showTabStates(info);
  fillEncoders(info, result.name);
  $("fit-name").value = "";
  if (state.tab === "encode") guard(encode);
}

// ------------------------------------------------------------------ Edit
async function editSetup() {
  const encoder = $("edit-encoder").value || null;
  if (!state.directions || state.directions.encoder !== encoder || state.directions.run !== state.run) {
    $("edit-pool").textContent = "computing the attribute vectors...";
    const fresh = ticket("directions");
    const d = await api("/api/directions", { run: state.run, encoder });
    check(fresh);
    state.directions = { ...d, encoder, run: state.run };
    $("edit-pool").textContent = `vectors from the codes of ${d.pool}`;
    const box = $("edit-sliders");
    box.innerHTML = "";
    const save = $("save-direction");
    save.innerHTML = "";
    for (const dir of d.directions) {
      const label = document.createElement("label");
      label.textContent = dir.name.startsWith("label=") ? `class ${dir.name.slice(6)}` : dir.name;
      label.title = dir.what;
      const slider = document.createElement("input");
      slider.type = "range"; slider.min = -3; slider.max = 3; slider.step = 0.1; slider.value = 0;
      slider.dataset.direction = dir.name; slider.id = `slider-${dir.name.replace(/[^A-Za-z0-9_-]/g, "_")}`;
      const out = document.createElement("output");
      out.textContent = "0";
      slider.addEventListener("input", () => { out.textContent = Number(slider.value).toFixed(1); scheduleEdit(); });
      box.append(label, slider, out);
      if (!dir.name.startsWith("saved:")) save.innerHTML += `<option value="${dir.name}">${dir.name}</option>`;
    }
  }
  await applyEdit();
  await guard(interpolateNow);
}

let editTimer = null, editRunning = false, editAgain = false;
function scheduleEdit() {
  clearTimeout(editTimer);
  editTimer = setTimeout(async () => {
    if (editRunning) { editAgain = true; return; }
    editRunning = true;
    await guard(applyEdit);
    editRunning = false;
    if (editAgain) { editAgain = false; scheduleEdit(); }
  }, 30);
}

async function applyEdit() {
  const alphas = {};
  for (const s of $("edit-sliders").querySelectorAll("input[type=range]")) if (Number(s.value) !== 0) alphas[s.dataset.direction] = Number(s.value);
  const fresh = ticket("edit");
  const out = await api("/api/edit", { run: state.run, image: state.current.id, encoder: $("edit-encoder").value || null, alphas });
  check(fresh);
  $("edit-recon").src = out.recon;
  $("edit-out").src = out.png;
  $("edit-out").dataset.alphas = JSON.stringify(alphas);
}

async function interpolateNow() {
  const b = $("interp-b").value;
  if (!b) return;
  const fresh = ticket("interpolate");
  const out = await api("/api/interpolate", {
    run: state.run, a: state.current.id, b, t: Number($("interp-t").value), mode: $("interp-mode").value,
    encoder: $("edit-encoder").value || null,
  });
  check(fresh);
  $("interp-out").src = out.png;
  $("interp-strip").src = out.strip;
}

async function arithmetic() {
  const fresh = ticket("arithmetic");
  const out = await api("/api/arithmetic", {
    run: state.run, a: state.current.id, b: $("arith-b").value, c: $("arith-c").value, encoder: $("edit-encoder").value || null,
  });
  check(fresh);
  $("arith-out").src = out.png;
  $("arith-recons").src = out.recons;
}

async function saveDirection() {
  const out = await api("/api/save-direction", {
    run: state.run, direction: $("save-direction").value, name: $("save-name").value.trim(), encoder: $("edit-encoder").value || null,
  });
  state.directions = null;
  say(`Saved ${out.path}; it appears among the sliders as ${out.name}.`, "note");
  await editSetup();
}

// ------------------------------------------------------------------ a layer to paint on
class Painter {
  constructor(canvas, { colour, size, mode }) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.colour = colour; this.size = size; this.mode = mode;
    this.layers = { colour: this.layer(), keep: this.layer() };
    this.history = [];
    this.drawing = false;
    canvas.addEventListener("pointerdown", (e) => this.down(e));
    canvas.addEventListener("pointermove", (e) => this.move(e));
    for (const end of ["pointerup", "pointerleave", "pointercancel"]) canvas.addEventListener(end, () => { this.drawing = false; });
  }
  layer() { const c = document.createElement("canvas"); c.width = this.canvas.width; c.height = this.canvas.height; return c; }
  at(e) {
    const r = this.canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * this.canvas.width / r.width, (e.clientY - r.top) * this.canvas.height / r.height];
  }
  down(e) {
    e.preventDefault();
    if (this.onStroke) this.onStroke();
    this.history.push(Object.fromEntries(Object.entries(this.layers).map(([k, c]) => [k, c.getContext("2d").getImageData(0, 0, c.width, c.height)])));
    this.drawing = true;
    this.last = this.at(e);
    this.stroke(this.last, this.last);
  }
  move(e) {
    if (!this.drawing) return;
    const p = this.at(e);
    this.stroke(this.last, p);
    this.last = p;
  }
  stroke(a, b) {
    const ctx = this.layers[this.mode()].getContext("2d");
    ctx.strokeStyle = this.mode() === "keep" ? "#00ff66" : this.colour();
    ctx.lineWidth = this.size(); ctx.lineCap = "round"; ctx.lineJoin = "round";
    ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0] + 0.01, b[1]); ctx.stroke();
    this.render();
  }
  render() {  // shown see-through, so that the image under the strokes stays visible; sent opaque
    const ctx = this.ctx;
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.globalAlpha = 0.35; ctx.drawImage(this.layers.keep, 0, 0);
    ctx.globalAlpha = 0.7; ctx.drawImage(this.layers.colour, 0, 0);
    ctx.globalAlpha = 1;
  }
  undo() {
    const snap = this.history.pop();
    if (!snap) return false;
    for (const [k, data] of Object.entries(snap)) this.layers[k].getContext("2d").putImageData(data, 0, 0);
    this.render();
    return true;
  }
  clear() {
    for (const c of Object.values(this.layers)) c.getContext("2d").clearRect(0, 0, c.width, c.height);
    this.history = [];
    this.render();
  }
  painted(name) {
    const c = this.layers[name];
    const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < data.length; i += 4) if (data[i]) return true;
    return false;
  }
  url(name) { return this.painted(name) ? this.layers[name].toDataURL("image/png") : null; }
}

// ------------------------------------------------------------------ Paint
let painter, holePainter;

async function paintStart(clear = true) {
  const bar = $("paint-progress");
  if (clear) painter.clear();
  state.paint = null;
  $("paint-cap").textContent = "finding the image's code...";
  const fresh = ticket("paint");
  const starting = follow(api("/api/paint-start", { run: state.run, image: state.current.id, encoder: $("paint-encoder").value || null }),
    (s) => { progressOf(bar, s); if (s.preview) $("paint-base").src = s.preview; }, fresh);
  state.paintStarting = starting;
  let result;
  try { result = await starting; } finally { if (state.paintStarting === starting) state.paintStarting = null; }
  state.paint = { history: [{ state: result.state, png: result.png }] };
  $("paint-x").src = result.x;
  $("paint-start").src = result.png;
  state.paint.actions = [];
  showPaint(result.png, `G(z0), z0 = ${result.how}: draw on it, then apply`);
}

function showPaint(src, caption) {
  $("paint-base").src = src;
  $("paint-download").href = src;
  $("paint-cap").textContent = caption;
}

async function paintApply() {
  if (!state.paint && state.paintStarting) await state.paintStarting.catch(() => null);
  if (!state.paint) await paintStart(false);  // the strokes drawn meanwhile stay
  const history = state.paint.history;
  const strokes = painter.url("colour"), keep = painter.url("keep");
  if (!strokes && !keep) throw new Error("Nothing is painted: draw a colour stroke (or a keep stroke) on the image first.");
  const bar = $("paint-progress");
  const t0 = performance.now();
  const fresh = ticket("paint");
  // every stroke so far constrains the edit (iGAN: the constraints add up), from the latest code
  const result = await follow(api("/api/paint", {
    run: state.run, state: history[history.length - 1].state, strokes, keep,
    steps: Number($("paint-steps").value), code_weight: Number($("paint-weight").value),
  }), (s) => { progressOf(bar, s); if (s.preview) $("paint-base").src = s.preview; $("paint-cap").textContent = `step ${s.step} of ${s.steps}`; }, fresh);
  history.push({ state: result.state, png: result.png });
  state.paint.actions.push("apply");
  showPaint(result.png, `edit ${history.length - 1} applied in ${((performance.now() - t0) / 1000).toFixed(2)} s (${result.painted_pixels} pixels painted); paint more and apply, or undo`);
}

// Undo takes back the last thing done: a stroke, or an applied edit (back to the image before it).
function paintUndo() {
  const actions = state.paint ? state.paint.actions : [];
  const last = actions.pop();
  if (last === "stroke") { painter.undo(); return; }
  if (last === "apply") {
    const history = state.paint.history;
    history.pop();
    const now = history[history.length - 1];
    showPaint(now.png, history.length > 1 ? `back to edit ${history.length - 1}` : "back to G(z0)");
  }
}

// ------------------------------------------------------------------ Restore
function restoreOptions() {
  const task = $("restore-task").value;
  $("restore-mask-box").hidden = task !== "inpaint";
  $("restore-noise-box").hidden = task !== "denoise";
  $("restore-factor-box").hidden = task !== "superres";
  $("restore-draw-box").hidden = !(task === "inpaint" && $("restore-mask").value === "drawn");
}

async function restoreSetup() {
  restoreOptions();
  holePainter.clear();
  const image = state.current.id;
  const out = await api("/api/view", { run: state.run, image });  // the pixels the model sees: the hole is drawn on those
  if (state.current.id !== image) return;
  $("restore-base").src = out.png;
  state.restoreImage = image;
}

async function restore() {
  const bar = $("restore-progress");
  const box = $("restore-results");
  box.innerHTML = "";
  const live = figure("", "through G, during the descent");
  box.appendChild(live);
  const fresh = ticket("restore");
  const result = await follow(api("/api/restore", {
    run: state.run, image: state.current.id, task: $("restore-task").value, method: $("restore-method").value,
    steps: Number($("restore-steps").value), mask: $("restore-mask").value, drawn: holePainter.url("colour"),
    noise: Number($("restore-noise").value), factor: Number($("restore-factor").value), encoder: $("restore-encoder").value || null,
  }), (s) => { progressOf(bar, s); if (s.preview) live.querySelector("img").src = s.preview; }, fresh);
  box.innerHTML = "";
  box.appendChild(figure(result.clean, "clean"));
  box.appendChild(figure(result.observed, `observed: ${result.description}`));
  for (const r of result.results) {
    const f = figure(r.png, `${r.name} (${r.kind}): ${score(r)}`);
    f.dataset.name = r.name;
    box.appendChild(f);
  }
}

function figure(src, caption) {
  const f = document.createElement("figure");
  const img = document.createElement("img");
  img.className = "px big";
  if (src) img.src = src;
  const c = document.createElement("figcaption");
  c.textContent = caption;
  f.append(img, c);
  return f;
}

// ------------------------------------------------------------------ Translate
function sourceDomain() { return $("translate-to").value === "A" ? "B" : "A"; }

async function translate() {
  const to = $("translate-to").value || "B";
  const fresh = ticket("translate");
  const out = await api("/api/translate", { run: state.run, image: state.current.id, to });
  check(fresh);
  $("translate-source").src = out.source;
  $("translate-out").src = out.png;
  $("translate-source-cap").textContent = `domain ${to === "B" ? "A" : "B"}`;
  $("translate-out-cap").textContent = `translated to ${to} in ${out.ms.toFixed(1)} ms`;
}

// ------------------------------------------------------------------ wiring
function wire() {
  $("run-select").addEventListener("change", (e) => guard(() => chooseRun(e.target.value)));
  $("run-refresh").addEventListener("click", () => guard(() => loadRuns()));
  $("upload").addEventListener("change", (e) => { const f = e.target.files[0]; e.target.value = ""; if (f) guard(() => upload(f)); });
  for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => showTab(b.dataset.tab));
  $("sample-draw").addEventListener("click", () => guard(drawSamples));
  $("sample-next").addEventListener("click", () => { $("sample-seed").value = (Number($("sample-seed").value) || 0) + 1; guard(drawSamples); });
  for (const id of ["sample-seed", "sample-n", "sample-class", "sample-toward"]) $(id).addEventListener("change", () => guard(drawSamples));
  $("sample-psi").addEventListener("change", () => guard(drawSamples));
  $("sample-psi").addEventListener("input", () => { $("sample-psi-value").textContent = $("sample-psi").value; });
  $("encode-encoder").addEventListener("change", () => guard(encode));
  $("invert-run").addEventListener("click", () => guard(invert));
  $("fit-run").addEventListener("click", () => guard(fitEncoder));
  $("edit-encoder").addEventListener("change", () => guard(editSetup));
  $("edit-reset").addEventListener("click", () => {
    for (const s of $("edit-sliders").querySelectorAll("input[type=range]")) { s.value = 0; s.nextElementSibling.textContent = "0"; }
    guard(applyEdit);
  });
  $("save-run").addEventListener("click", () => guard(saveDirection));
  $("interp-t").addEventListener("input", () => { $("interp-t-value").textContent = $("interp-t").value; guard(interpolateNow); });
  for (const id of ["interp-b", "interp-mode"]) $(id).addEventListener("change", () => guard(interpolateNow));
  $("arith-run").addEventListener("click", () => guard(arithmetic));
  painter = new Painter($("paint-canvas"), {
    colour: () => $("paint-color").value, size: () => Number($("paint-size").value), mode: () => $("paint-mode").value,
  });
  painter.onStroke = () => { if (state.paint) state.paint.actions.push("stroke"); };
  holePainter = new Painter($("restore-canvas"), { colour: () => "#ff3366", size: () => Number($("restore-size").value), mode: () => "colour" });
  $("restore-clear").addEventListener("click", () => holePainter.clear());
  $("restore-undo").addEventListener("click", () => holePainter.undo());
  $("paint-apply").addEventListener("click", () => guard(paintApply));
  $("paint-undo").addEventListener("click", paintUndo);
  $("paint-clear").addEventListener("click", () => { painter.clear(); if (state.paint) state.paint.actions = state.paint.actions.filter((a) => a !== "stroke"); });
  $("paint-restart").addEventListener("click", () => guard(paintStart));
  $("paint-encoder").addEventListener("change", () => guard(paintStart));
  for (const id of ["restore-task", "restore-mask"]) $(id).addEventListener("change", restoreOptions);
  $("restore-noise").addEventListener("input", () => { $("restore-noise-value").textContent = $("restore-noise").value; });
  $("restore-run").addEventListener("click", () => guard(restore));
  $("translate-run").addEventListener("click", () => guard(translate));
  $("translate-to").addEventListener("change", () => guard(() => loadExamples(sourceDomain())));
}

wire();
guard(() => loadRuns()).then(() => { document.body.dataset.ready = "1"; });
