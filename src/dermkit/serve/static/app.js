// dermkit web page: upload an image, show the analysis. Plain JavaScript, no build step.
// Every value from the server is written with textContent (never as HTML).
"use strict";

const API = "/api/v1";
const TOKEN_KEY = "dermkit-token";
const CLASS_NAMES = {
  akiec: "actinic keratosis / Bowen's disease", bcc: "basal cell carcinoma", bkl: "benign keratosis",
  df: "dermatofibroma", mel: "melanoma", nv: "melanocytic naevus", vasc: "vascular lesion",
};
// What the page says for each API error code (the server's own message follows it).
const ERROR_TEXT = {
  not_an_image: "This file is not an image the server can read.",
  truncated_image: "The image file is incomplete (truncated).",
  empty_file: "The file is empty (0 bytes).",
  unreadable_image: "The image cannot be decoded.",
  image_too_small: "The image is too small to analyse.",
  invalid_age: "The age is not valid.",
  invalid_sex: "The sex is not valid.",
  invalid_site: "The site is not valid.",
  bad_multipart: "The upload was malformed.",
  request_too_large: "The file is larger than the server accepts.",
  too_many_pixels: "The image has more pixels than the server accepts.",
  unsupported_media_type: "The upload was not sent as a form.",
  missing_field: "Choose an image first.",
  unauthorized: "The access token is missing or wrong.",
  queue_full: "The server is busy; try again in a few seconds.",
  report_expired: "The report is no longer held; analyse the image again.",
  internal_error: "The server failed. Tell the administrator this error id:",
};

const $ = (id) => document.getElementById(id);
let picked = null;       // the chosen File
let pickedUrl = null;    // its object URL (shown under the layers)
let reportUrl = null;    // object URL of the downloaded report

function token() { return sessionStorage.getItem(TOKEN_KEY); }

function authHeaders() {
  const t = token();
  return t ? { Authorization: "Bearer " + t } : {};
}

function text(el, value) { el.textContent = value == null ? "" : String(value); return el; }

function make(tag, value, className) {
  const el = document.createElement(tag);
  if (value != null) el.textContent = String(value);
  if (className) el.className = className;
  return el;
}

function pct(p) { return (100 * p).toFixed(1) + "%"; }

function label(name) { return CLASS_NAMES[name] ? `${name} (${CLASS_NAMES[name]})` : name; }

class ApiFailure extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.code = err.code || `http_${status}`;
    this.errorId = err.error_id || null;
  }
}

async function call(path, options = {}) {
  let response;
  try {
    response = await fetch(path, { ...options, headers: { ...authHeaders(), ...(options.headers || {}) } });
  } catch (e) {
    throw new ApiFailure(0, { error: { code: "network", message: "The server cannot be reached: " + e.message } });
  }
  if (!response.ok) {
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    throw new ApiFailure(response.status, body);
  }
  return response;
}

function showError(failure) {
  const box = $("error");
  box.replaceChildren();
  const lead = ERROR_TEXT[failure.code] || "The request failed.";
  box.append(make("strong", lead + (failure.errorId ? " " + failure.errorId : "")));
  box.append(make("span", " " + failure.message));
  box.append(make("span", ` (${failure.status || "no answer"}, ${failure.code})`, "meta"));
  box.dataset.code = failure.code;
  box.hidden = false;
  if (failure.code === "unauthorized") askForToken();
}

function clearError() { $("error").hidden = true; $("error").replaceChildren(); delete $("error").dataset.code; }

function askForToken() {
  $("token-panel").hidden = false;
  $("token").focus();
}

// ---------------------------------------------------------------- the model

function fillSelect(select, values) {
  select.replaceChildren(make("option", "unknown"));
  select.firstChild.value = "";
  for (const v of values.filter((x) => x !== "unknown")) {
    const option = make("option", v.replace(/_/g, " "));
    option.value = v;
    select.append(option);
  }
}

function metricRows(tbody, metrics) {
  tbody.replaceChildren();
  for (const [part, figures] of Object.entries(metrics)) {
    const names = Object.keys(figures).sort();
    if (!names.length) {
      const row = make("tr");
      row.append(make("th", part), make("td", "no validated figures"));
      tbody.append(row);
    }
    for (const name of names) {
      const row = make("tr");
      const value = Number(figures[name]);
      row.append(make("th", `${part} ${name.replace(/_/g, " ")}`), make("td", Number.isInteger(value) ? value : value.toFixed(3)));
      tbody.append(row);
    }
  }
}

async function loadModel() {
  try {
    const model = await (await call(API + "/model")).json();
    $("token-panel").hidden = true;
    text($("model-line"), `${model.source} · ${model.backend} · classes ${model.classes.join(", ")}`);
    fillSelect($("sex"), model.metadata_fields.sex);
    fillSelect($("site"), model.metadata_fields.site);
    metricRows($("metrics"), model.validated_metrics);
    $("limitations").replaceChildren(...model.model_card.limitations.map((l) => make("li", l)));
    text($("intended-use-text"), model.intended_use);
  } catch (failure) {
    text($("model-line"), "Model not loaded.");
    showError(failure);
  }
}

// ---------------------------------------------------------------- picking an image

function pick(file) {
  if (!file) return;
  picked = file;
  if (pickedUrl) URL.revokeObjectURL(pickedUrl);
  pickedUrl = URL.createObjectURL(file);
  text($("file-name"), `${file.name} (${(file.size / 1024).toFixed(0)} KiB)`);
  clearError();
}

function setUpDrop() {
  const zone = $("drop-zone");
  $("image").addEventListener("change", (e) => pick(e.target.files[0]));
  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (e) => { e.preventDefault(); zone.classList.add("dragging"); });
  }
  for (const type of ["dragleave", "drop"]) {
    zone.addEventListener(type, (e) => { e.preventDefault(); zone.classList.remove("dragging"); });
  }
  zone.addEventListener("drop", (e) => pick(e.dataTransfer.files[0]));
}

// ---------------------------------------------------------------- showing a result

function showLayers(images) {
  $("viewer").hidden = false;
  $("base-image").src = pickedUrl;
  const outline = $("outline-layer");
  const heat = $("heatmap-layer");
  outline.src = images ? images.outline : "";
  outline.hidden = !images || !$("show-outline").checked;
  if (images && images.heatmap) {
    heat.src = images.heatmap;
    heat.hidden = !$("show-heatmap").checked;
    $("show-heatmap").disabled = false;
    $("opacity").disabled = false;
  } else {
    heat.removeAttribute("src");
    heat.hidden = true;
    $("show-heatmap").disabled = true;
    $("opacity").disabled = true;
  }
  applyOpacity();
}

function applyOpacity() {
  const value = Number($("opacity").value);
  $("heatmap-layer").style.opacity = String(value / 100);
  text($("opacity-value"), value + "%");
  $("opacity").setAttribute("aria-valuetext", value + "%");
}

function showWarnings(warnings, result) {
  const box = $("warnings");
  box.replaceChildren();
  if (!warnings.length) {
    box.append(make("p", "Quality checks: no problem found.", "ok"));
    return;
  }
  const list = make("ul");
  list.id = "warning-list";
  for (const w of warnings) {
    const item = make("li", null, "severity-" + w.severity);
    item.append(make("strong", w.severity + ": "), document.createTextNode(w.message));
    list.append(item);
  }
  box.append(make("h3", `Read first: ${warnings.length} quality ${warnings.length === 1 ? "problem" : "problems"}`), list);
  box.className = "warnings " + (warnings.some((w) => w.severity === "error") ? "error-level" : "warning-level");
}

function showDecision(r) {
  text($("decision-class"), label(r.decision.class));
  text($("decision-confidence"), pct(r.decision.confidence));
  text($("decision-rule"), `(rule: ${r.decision.rule})`);
  const m = r.malignant;
  if (m) {
    text($("malignant-call"), `${m.flag ? "yes" : "no"}: ${pct(m.probability)} against threshold ${m.threshold.toFixed(3)}`);
    let point = `Operating point: ${m.operating_point}`;
    if (m.validation) {
      point += ` — validation sensitivity ${pct(m.validation.sensitivity)}, specificity ${pct(m.validation.specificity)}`;
    }
    text($("operating-point"), point);
    $("malignant-line").hidden = false;
  } else {
    $("malignant-line").hidden = true;
    text($("operating-point"), "This classifier has no malignant class: no malignant call.");
  }
}

function showProbabilities(r) {
  const list = $("probabilities");
  list.replaceChildren();
  const order = [...r.classes].sort((a, b) => r.probabilities[b] - r.probabilities[a]);
  for (const name of order) {
    const p = r.probabilities[name];
    const item = make("li", null, "bar-row" + (name === r.decision.class ? " decided" : ""));
    item.dataset.class = name;
    item.dataset.value = String(p);
    const bar = make("span", null, "bar");
    bar.style.width = (100 * p).toFixed(2) + "%";
    const track = make("span", null, "track");
    track.append(bar);
    track.setAttribute("role", "img");
    track.setAttribute("aria-label", `${name} ${pct(p)}`);
    item.append(make("span", label(name), "bar-name"), track, make("span", pct(p), "bar-value"));
    list.append(item);
  }
}

function measurementRows(m) {
  const missing = "not measured (lesion empty or too small)";
  const rows = [["Area", `${m.area_px ?? 0} px`]];
  let diameter = `${(m.diameter_px ?? 0).toFixed(1)} px`;
  diameter += m.diameter_mm != null ? ` = ${m.diameter_mm.toFixed(2)} mm` : " (no pixel spacing, so no mm)";
  rows.push(["Diameter", diameter]);
  const a = m.asymmetry, b = m.border, c = m.colours, tds = m.tds;
  rows.push(["A asymmetry", a ? `${a.score} of 2` : missing]);
  rows.push(["B border", b ? `${b.score} of ${b.measurable_sectors ?? 8} sectors abrupt` : missing]);
  rows.push(["C colours", c ? `${c.score} of 6: ${(c.present || []).join(", ").replace(/_/g, " ") || "none"}` : missing]);
  let tdsText = "not computed (A, B or C not measured)";
  if (tds) {
    tdsText = tds.value != null ? `${tds.value.toFixed(2)}: ${tds.band_low}`
      : `${tds.low.toFixed(2)} to ${tds.high.toFixed(2)} (depends on D, which is not read from images)`;
  }
  rows.push(["TDS", tdsText]);
  return rows;
}

function showMeasurements(m) {
  const body = $("measurements");
  body.replaceChildren();
  for (const [name, value] of measurementRows(m)) {
    const row = make("tr");
    row.append(make("th", name), make("td", value));
    body.append(row);
  }
}

async function prepareReport(url, imageId) {
  const link = $("report-link");
  if (reportUrl) URL.revokeObjectURL(reportUrl);
  reportUrl = null;
  if (!url) { link.hidden = true; return; }
  try {
    const html = await (await call(url)).blob();
    reportUrl = URL.createObjectURL(new Blob([html], { type: "text/html" }));
    link.href = reportUrl;
    link.download = `${imageId}_report.html`;
    link.hidden = false;
  } catch (failure) {
    link.hidden = true;
    showError(failure);
  }
}

function showResult(body) {
  const r = body.result;
  $("results").hidden = false;
  text($("result-id"), `${r.image.id} · ${r.image.width} × ${r.image.height} px`);
  showLayers(body.images);
  text($("heatmap-note"), r.heatmap ? `Heat map: ${r.heatmap.method}, evidence for ${r.heatmap.target_class}.` : "No heat map for this model.");
  showWarnings(body.warnings, r);
  showDecision(r);
  showProbabilities(r);
  showMeasurements(r.measurements);
  return prepareReport(body.report_url, r.image.id);
}

// ---------------------------------------------------------------- analysing

async function analyze(event) {
  event.preventDefault();
  clearError();
  const form = new FormData();
  if (picked) form.append("image", picked, picked.name);
  for (const name of ["age", "sex", "site"]) {
    const value = $(name).value.trim();
    if (value) form.append(name, value);
  }
  const button = $("analyze");
  button.disabled = true;
  $("results").hidden = true;  // never leave the previous image's result beside a new request
  $("viewer").hidden = true;
  document.body.dataset.state = "busy";
  text($("status"), "Analysing…");
  try {
    const body = await (await call(API + "/analyze", { method: "POST", body: form })).json();
    await showResult(body);
    text($("status"), `Done in ${Math.round(body.timing_ms.analysis)} ms.`);
    document.body.dataset.state = "done";
  } catch (failure) {
    text($("status"), "");
    document.body.dataset.state = "failed";
    showError(failure);
  } finally {
    button.disabled = false;
  }
}

function setUp() {
  setUpDrop();
  $("analyze-form").addEventListener("submit", analyze);
  $("opacity").addEventListener("input", applyOpacity);
  $("show-outline").addEventListener("change", (e) => { $("outline-layer").hidden = !e.target.checked; });
  $("show-heatmap").addEventListener("change", (e) => {
    $("heatmap-layer").hidden = !e.target.checked || !$("heatmap-layer").getAttribute("src");
  });
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
    $("token").value = "";
    clearError();
    loadModel();
  });
  document.body.dataset.state = "idle";
  loadModel();
}

document.addEventListener("DOMContentLoaded", setUp);
