"use strict";
// The page behind `brushwork serve`: choose a photo and a painting, start a job, follow its events.

const $ = (id) => document.getElementById(id);
const state = {
  styleId: null, styleFile: null, contentFile: null, current: null, currentState: null, events: null, shown: "",
  photoSmall: null, styleSmall: null, // the small copies previews send
  maskFile: null, maskSmall: null, // an uploaded mask, and the copy previews send
  shownKind: "", // what state.shown is: "preview", "running" (a job's picture so far), "result" or "content"
  downloadBase: "", // the result's download link, before the finishing values
  result: null, // the shown job's result link and its own finishing (result.png's default view)
};

const PREVIEW_SIDE = 512; // the server paints previews at most this large
const STYLE_SIDE = 1024; // enough for the fast engine to read the painting's strokes
const PREVIEW_DELAY_MS = 150; // after the last move of a slider
const BUSY_RETRY_MS = 500;
// One preview request at a time: a change while one is under way asks for another once it is back
// (each shown picture is newer than the last); a new photo or painting, or a job, aborts it.
const preview = { timer: 0, controller: null, again: false, url: "", blob: null, photos: 0, paintings: 0, masks: 0 };
// Finishing (brightness ... denoise) is a view of the painting, never a new transfer: CSS filters show
// an approximation at once, then the server's exact picture replaces it (result.png with the values,
// or /api/adjust for a quick preview); sharpen and denoise have no CSS equivalent and show only then.
const FINISHING = ["brightness", "contrast", "saturation", "hue", "sharpen", "denoise"];
const FINISH_DELAY_MS = 250;
const finish = { timer: 0, turn: 0, url: "" };

async function api(path, options = {}) {
  const response = await fetch(path, options);
  if (response.status === 401) {
    showLogin();
    throw new Error("a token is needed");
  }
  if (!response.ok) {
    let message = `HTTP ${response.status}`;
    try { message = (await response.json()).error || message; } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  return response.status === 204 ? null : response.json();
}

function showLogin() {
  $("login").hidden = false;
  $("app").hidden = true;
}

function clock(seconds) {
  if (seconds == null || !isFinite(seconds)) return "";
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// ------------------------------------------------------------------------------------------ choosing

async function choosePhoto(file) {
  if (!file) return;
  state.contentFile = file;
  const img = $("content-preview");
  img.src = URL.createObjectURL(file);
  img.hidden = false;
  $("content-drop").classList.add("has-image");
  $("content-text").textContent = `${file.name} (click or drop to change)`;
  stopPreviews(); // what is on its way shows the last photo
  state.photoSmall = null;
  const choice = ++preview.photos;
  const small = await shrink(file, PREVIEW_SIDE);
  if (choice !== preview.photos) return; // another photo was chosen meanwhile
  state.photoSmall = small;
  requestPreview(0);
  showMask();
}

// A JPEG copy of an image at most `side` pixels on its long side; the file itself where the browser
// cannot decode it (the server then reads it, or says why it cannot).
async function shrink(file, side) {
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    const context = canvas.getContext("2d");
    context.fillStyle = "#fff"; // transparent parts come out white, not black
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9));
    return blob || file;
  } catch (_) {
    return file;
  }
}

function selectTile(tile, caption) {
  for (const other of document.querySelectorAll("#gallery .tile")) other.setAttribute("aria-checked", "false");
  tile.setAttribute("aria-checked", "true");
  $("style-caption").textContent = caption;
}

function buildGallery(styles) {
  const gallery = $("gallery");
  const uploadTile = $("style-upload-tile");
  for (const style of styles) {
    const tile = document.createElement("button");
    tile.type = "button";
    tile.className = "tile";
    tile.setAttribute("role", "radio");
    tile.setAttribute("aria-checked", "false");
    tile.dataset.styleId = style.id;
    tile.title = `${style.title}, ${style.artist} (${style.year})`;
    const img = document.createElement("img");
    img.src = style.url;
    img.alt = style.title;
    tile.append(img);
    tile.addEventListener("click", () => {
      state.styleId = style.id;
      state.styleFile = null;
      state.styleSmall = null;
      selectTile(tile, tile.title);
      preview.paintings++;
      stopPreviews();
      requestPreview(0);
    });
    gallery.insertBefore(tile, uploadTile);
  }
  uploadTile.setAttribute("role", "radio");
  uploadTile.setAttribute("aria-checked", "false");
  $("style-input").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    state.styleFile = file;
    state.styleId = null;
    state.styleSmall = null;
    const img = $("style-preview");
    img.src = URL.createObjectURL(file);
    img.hidden = false;
    selectTile(uploadTile, `Your painting: ${file.name}`);
    stopPreviews();
    const choice = ++preview.paintings;
    const small = await shrink(file, STYLE_SIDE);
    if (choice !== preview.paintings) return; // another painting was chosen meanwhile
    state.styleSmall = small;
    requestPreview(0);
  });
}

function wireControls(info) {
  const size = $("size");
  size.max = String(info.limits.max_size);
  if (Number(size.value) > info.limits.max_size) size.value = String(info.limits.max_size);
  $("steps").max = String(info.limits.max_steps);
  const show = () => {
    $("strength-value").textContent = Number($("strength").value).toFixed(2);
    $("size-value").textContent = `${size.value} px`;
    $("style-scale-value").textContent = Number($("style-scale").value).toFixed(2);
  };
  for (const id of ["strength", "size", "style-scale"]) $(id).addEventListener("input", show);
  show();
  for (const id of ["strength", "size", "style-scale"]) {
    $(id).addEventListener("input", () => requestPreview(PREVIEW_DELAY_MS));
  }
  $("preserve-color").addEventListener("change", () => requestPreview(0));

  const drop = $("content-drop");
  $("content-input").addEventListener("change", (event) => choosePhoto(event.target.files[0]));
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    choosePhoto(event.dataTransfer.files[0]);
  });
}

// ------------------------------------------------------------------------------------------ previews

function jobActive() {
  return state.currentState === "queued" || state.currentState === "running";
}

function previewWanted() {
  return Boolean(state.photoSmall && (state.styleId || state.styleSmall) && !jobActive());
}

function stopPreviews() {
  clearTimeout(preview.timer);
  preview.again = false;
  if (preview.controller) preview.controller.abort();
  preview.controller = null;
}

function requestPreview(delay) {
  clearTimeout(preview.timer);
  if (!previewWanted()) return;
  preview.timer = setTimeout(() => {
    if (preview.controller) preview.again = true;
    else sendPreview();
  }, delay);
}

async function sendPreview() {
  if (!previewWanted()) return;
  const form = new FormData();
  form.append("content", state.photoSmall, "photo.jpg");
  if (state.styleSmall) form.append("style", state.styleSmall, "painting.jpg");
  else form.append("style_id", state.styleId);
  form.append("size", String(Math.min(Number($("size").value), PREVIEW_SIDE)));
  form.append("strength", $("strength").value);
  form.append("style_scale", $("style-scale").value);
  if ($("preserve-color").value) form.append("preserve_color", $("preserve-color").value);
  appendRegion(form, state.maskSmall);
  const controller = new AbortController();
  preview.controller = controller;
  const started = performance.now();
  let picture = null;
  let problem = "";
  let busy = false;
  try {
    const response = await fetch("/api/preview", { method: "POST", body: form, signal: controller.signal });
    if (response.status === 401) showLogin();
    else if (response.ok) picture = await response.blob();
    else if (response.status === 429) busy = true; // other pages' previews: ask again shortly
    else {
      problem = `HTTP ${response.status}`;
      try { problem = (await response.json()).error || problem; } catch (_) { /* not JSON */ }
    }
  } catch (e) {
    if (e.name === "AbortError") return; // superseded: stopPreviews() already moved on
    problem = e.message;
  }
  if (preview.controller !== controller) return;
  preview.controller = null;
  if (previewWanted()) {
    if (picture && picture.size) showPreview(picture, (performance.now() - started) / 1000);
    else if (problem) showStatus(`Preview failed: ${problem}`, true);
  }
  if (preview.again) {
    preview.again = false;
    sendPreview();
  } else if (busy) {
    requestPreview(BUSY_RETRY_MS);
  }
}

function showPreview(blob, seconds) {
  const old = preview.url;
  preview.url = URL.createObjectURL(blob);
  preview.blob = blob;
  setPicture(preview.url, "preview");
  if (old) URL.revokeObjectURL(old);
  $("progress").value = 0;
  showStatus(`Quick preview in ${seconds.toFixed(1)} s. Start painting to refine it.`, false);
  $("cancel").hidden = true;
  $("download").hidden = true;
}

function showStatus(message, failed) {
  const text = $("progress-text");
  text.textContent = message;
  text.classList.toggle("failed", failed);
}

// ------------------------------------------------------------------------------------------ region

function appendRegion(form, maskFile) {
  const region = $("region").value;
  if (region === "upload") {
    if (maskFile) form.append("mask", maskFile, maskFile.name || "mask.png");
    if (maskFile && $("invert-mask").checked) form.append("invert_mask", "true");
  } else if (region) {
    form.append("mask_mode", region);
  }
  if ($("protect-faces").checked) form.append("protect_faces", "true");
  if ($("protect-text").checked) form.append("protect_text", "true");
}

// A PNG copy of a mask at most `side` pixels on its long side, its transparency kept (a cut-out's
// alpha is the mask); the file itself where the browser cannot decode it.
async function shrinkMask(file, side) {
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
    return blob || file;
  } catch (_) {
    return file;
  }
}

// The mask the chosen region paints, over the photo (a toggle): found by the server (POST /api/mask)
// for subject, background and faces, or the uploaded one; a found mask can be saved, corrected and
// uploaded back with "Upload a mask…".
const maskView = { turn: 0, url: "" };

async function showMask() {
  const textOnly = !$("region").value && $("protect-text").checked; // the text found, highlighted
  const region = $("region").value || (textOnly ? "text" : "");
  const overlay = $("mask-overlay");
  const link = $("mask-download");
  const turn = ++maskView.turn;
  $("show-mask-row").hidden = !region;
  overlay.classList.toggle("found-text", textOnly);
  let blob = null;
  if (region && $("show-mask").checked && state.photoSmall) {
    if (region === "upload") {
      blob = state.maskSmall;
    } else {
      const form = new FormData();
      form.append("content", state.photoSmall, "photo.jpg");
      form.append("mask_mode", region);
      try {
        const response = await fetch("/api/mask", { method: "POST", body: form });
        if (response.status === 401) showLogin();
        else if (response.ok) blob = await response.blob();
        else showStatus(`Mask: ${(await response.json()).error || `HTTP ${response.status}`}`, true);
      } catch (e) {
        showStatus(`Mask: ${e.message}`, true);
      }
    }
  }
  if (turn !== maskView.turn) return; // another region or photo was chosen meanwhile
  if (maskView.url) URL.revokeObjectURL(maskView.url);
  maskView.url = blob ? URL.createObjectURL(blob) : "";
  overlay.src = maskView.url;
  overlay.hidden = !blob;
  link.href = maskView.url;
  link.hidden = !blob || region === "upload";
}

function wireRegion() {
  const changed = () => {
    $("mask-row").hidden = $("region").value !== "upload"; // the whole picture until a mask is chosen
    stopPreviews();
    requestPreview(0);
    showMask();
  };
  $("show-mask").addEventListener("change", showMask);
  $("region").addEventListener("change", changed);
  $("invert-mask").addEventListener("change", changed);
  $("protect-faces").addEventListener("change", changed);
  $("protect-text").addEventListener("change", changed);
  $("mask-input").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    state.maskFile = file || null;
    state.maskSmall = null;
    const choice = ++preview.masks;
    const small = file ? await shrinkMask(file, PREVIEW_SIDE) : null;
    if (choice !== preview.masks) return; // another mask was chosen meanwhile
    state.maskSmall = small;
    changed();
  });
}

// ------------------------------------------------------------------------------------------ finishing

function neutral(name) {
  return Number($(name).dataset.neutral);
}

function finishingValues() {
  const values = {};
  for (const name of FINISHING) values[name] = Number($(name).value);
  return values;
}

// "brightness=1.2&sharpen=1": the values that change something, in the API's names
function finishingQuery(values) {
  return FINISHING.filter((name) => values[name] !== neutral(name)).map((name) => `${name}=${values[name]}`).join("&");
}

// The same for result.png, which applies the job's own finishing unless told otherwise: those values
// are always given, even when neutral.
function resultQuery(values) {
  const own = state.result ? state.result.settings : {};
  const given = (name) => values[name] !== neutral(name) || (own[name] != null && own[name] !== neutral(name));
  return FINISHING.filter(given).map((name) => `${name}=${values[name]}`).join("&");
}

function withQuery(url, query, joiner = "?") {
  return query ? `${url}${joiner}${query}` : url;
}

// The job's painting as it came (result.png without the job's own finishing)
function resultPainting(job) {
  state.result = { url: job.links.result, settings: job.settings || {} };
  const unadjusted = {};
  for (const name of FINISHING) unadjusted[name] = neutral(name);
  return withQuery(job.links.result, resultQuery(unadjusted));
}

function cssFilter(values) {
  return `brightness(${values.brightness}) contrast(${values.contrast}) saturate(${values.saturation}) hue-rotate(${values.hue}deg)`;
}

function setFinishing(settings) {
  for (const name of FINISHING) {
    const value = settings && settings[name] != null ? settings[name] : neutral(name);
    $(name).value = String(value);
  }
  showFinishingValues();
}

function showFinishingValues() {
  const values = finishingValues();
  for (const name of FINISHING) {
    $(`${name}-value`).textContent = name === "hue" ? `${values.hue}°` : values[name].toFixed(2);
  }
}

function updateDownload() {
  if (!state.downloadBase) return;
  $("download").href = withQuery(state.downloadBase, resultQuery(finishingValues()), "&");
}

function wireFinishing() {
  const moved = () => {
    showFinishingValues();
    updateDownload();
    showFinished(FINISH_DELAY_MS);
  };
  for (const name of FINISHING) $(name).addEventListener("input", moved);
  $("finish-reset").addEventListener("click", () => {
    setFinishing(null);
    moved();
  });
  showFinishingValues();
}

// Show state.shown as the sliders say: at once with CSS filters, then (after `delay`) the exact picture.
function showFinished(delay) {
  const turn = ++finish.turn;
  clearTimeout(finish.timer);
  $("finish-error").textContent = "";
  const values = finishingValues();
  const query = finishingQuery(values);
  const exact = state.shownKind === "result" || (state.shownKind === "preview" && preview.blob);
  if (!query || state.shownKind === "content") {
    showImage(state.shown, "", "");
    return;
  }
  showImage(state.shown, cssFilter(values), "");
  if (exact) finish.timer = setTimeout(() => fetchFinished(turn, query), delay);
}

function showImage(url, filter, finishing) {
  const img = $("picture");
  if (img.getAttribute("src") !== url) img.src = url;
  img.style.filter = filter;
  img.dataset.finishing = finishing;
}

async function fetchFinished(turn, query) {
  let response;
  try {
    if (state.shownKind === "result") {
      response = await fetch(withQuery(state.result.url, resultQuery(finishingValues())));
    } else {
      const form = new FormData();
      form.append("image", preview.blob, "preview.png");
      for (const part of query.split("&")) form.append(...part.split("="));
      response = await fetch("/api/adjust", { method: "POST", body: form });
    }
    if (turn !== finish.turn) return;
    if (response.status === 429) { // others are adjusting: ask again shortly
      finish.timer = setTimeout(() => fetchFinished(turn, query), BUSY_RETRY_MS);
      return;
    }
    if (!response.ok) {
      let problem = `HTTP ${response.status}`;
      try { problem = (await response.json()).error || problem; } catch (_) { /* not JSON */ }
      $("finish-error").textContent = `Finishing failed: ${problem}`;
      return;
    }
    const blob = await response.blob();
    if (turn !== finish.turn) return;
    const url = URL.createObjectURL(blob);
    const probe = new Image(); // decoded before it replaces the filtered picture: no flash
    probe.src = url;
    await probe.decode().catch(() => {});
    if (turn !== finish.turn) { URL.revokeObjectURL(url); return; }
    const old = finish.url;
    finish.url = url;
    showImage(url, "", query);
    if (old) URL.revokeObjectURL(old);
  } catch (e) {
    if (turn === finish.turn) $("finish-error").textContent = `Finishing failed: ${e.message}`;
  }
}

// ------------------------------------------------------------------------------------------ a job

async function start(event) {
  event.preventDefault();
  const error = $("form-error");
  error.textContent = "";
  if (!state.contentFile) { error.textContent = "Choose a photo first."; return; }
  if (!state.styleId && !state.styleFile) { error.textContent = "Pick a painting, or upload your own."; return; }
  const instant = $("quality").value === "instant";
  const form = new FormData();
  form.append("content", state.contentFile);
  if (state.styleFile) form.append("style", state.styleFile);
  else form.append("style_id", state.styleId);
  form.append("size", $("size").value);
  form.append("strength", $("strength").value);
  if ($("preserve-color").value) form.append("preserve_color", $("preserve-color").value);
  if (Number($("style-scale").value) !== 1) form.append("style_scale", $("style-scale").value);
  if ($("region").value === "upload" && !state.maskFile) {
    error.textContent = "Choose a mask image, or another region.";
    return;
  }
  appendRegion(form, state.maskFile);
  const values = finishingValues(); // the job's own finishing; the sliders can change it afterwards
  for (const name of FINISHING) if (values[name] !== neutral(name)) form.append(name, String(values[name]));
  if (instant) {
    form.append("method", "fast");
  } else { // the optimizer starts from the quick preview's picture and refines it
    form.append("init", "fast");
    form.append("quality", $("quality").value);
    if ($("steps").value) form.append("steps", $("steps").value);
    if ($("seed").value) form.append("seed", $("seed").value);
  }
  $("start").disabled = true;
  try {
    const job = await api("/api/jobs", { method: "POST", body: form });
    follow(job, true);
    refreshHistory();
  } catch (e) {
    error.textContent = e.message;
  } finally {
    $("start").disabled = false;
  }
}

// keepPicture: leave the quick preview up until the job's own first picture replaces it
function follow(job, keepPicture = false) {
  if (state.events) state.events.close();
  state.events = null;
  stopPreviews();
  state.current = job.id;
  if (!keepPicture) {
    state.shown = "";
    setFinishing(job.settings);
  }
  show(job);
  if (job.state !== "queued" && job.state !== "running") return;
  const events = new EventSource(job.links.events);
  state.events = events;
  events.addEventListener("job", (message) => {
    const update = JSON.parse(message.data);
    if (update.id === state.current) show(update);
  });
  events.addEventListener("end", () => {
    events.close();
    if (state.events === events) state.events = null;
    refreshHistory();
  });
}

// url: the picture as painted; the finishing sliders' view of it is what is shown
function setPicture(url, kind) {
  if (!url || url === state.shown) return;
  state.shown = url;
  state.shownKind = kind;
  $("picture").hidden = false;
  $("placeholder").hidden = true;
  $("picture-label").hidden = kind !== "preview";
  showFinished(0);
}

function show(job) {
  if (job.id === state.current) state.currentState = job.state;
  const p = job.progress;
  const bar = $("progress");
  const text = $("progress-text");
  bar.max = Math.max(1, p.total);
  bar.value = job.state === "done" ? bar.max : p.done;
  text.classList.toggle("failed", job.state === "failed");
  if (job.state === "queued") {
    const ahead = job.queue_position ? ` (${job.queue_position} ahead)` : "";
    text.textContent = `Waiting in the queue${ahead}…`;
  } else if (job.state === "running") {
    const eta = p.eta != null && p.done > 0 ? ` · about ${clock(p.eta)} left` : "";
    const scale = p.scales > 1 ? ` · scale ${p.scale} of ${p.scales}` : "";
    text.textContent = job.cancel_requested ? "Stopping…" : `Painting: step ${p.done} of ${p.total}${scale}${eta}`;
  } else if (job.state === "done") {
    text.textContent = `Done: ${job.result.width}×${job.result.height} in ${job.result.seconds.toFixed(1)} s`;
  } else if (job.state === "failed") {
    text.textContent = `Failed: ${job.error}`;
  } else {
    text.textContent = "Cancelled.";
  }
  if (job.state === "done") setPicture(resultPainting(job), "result");
  else if (job.links.preview) setPicture(job.links.preview, "running");
  else if (!state.shown) setPicture(job.links.content, "content");
  $("cancel").hidden = !(job.state === "queued" || job.state === "running");
  const download = $("download");
  download.hidden = job.state !== "done";
  if (job.state === "done") {
    state.downloadBase = job.links.download;
    updateDownload();
    download.setAttribute("download", `brushwork-${job.id.slice(0, 8)}.png`);
  }
  for (const item of document.querySelectorAll("#history li")) {
    item.classList.toggle("current", item.dataset.jobId === job.id);
  }
}

async function cancelCurrent() {
  if (!state.current) return;
  try {
    show(await api(`/api/jobs/${state.current}/cancel`, { method: "POST" }));
  } catch (e) {
    $("form-error").textContent = e.message;
  }
}

// ------------------------------------------------------------------------------------------ history

async function refreshHistory() {
  let list;
  try {
    list = await api("/api/jobs?limit=48");
  } catch (_) {
    return;
  }
  const history = $("history");
  history.replaceChildren();
  $("history-empty").hidden = list.jobs.length > 0;
  for (const job of list.jobs) {
    const item = document.createElement("li");
    item.dataset.jobId = job.id;
    item.classList.toggle("current", job.id === state.current);
    const open = document.createElement("button");
    open.type = "button";
    open.className = "open";
    open.title = "Show this one";
    const img = document.createElement("img");
    img.src = job.links.thumb || job.links.content;
    img.alt = `Job ${job.id.slice(0, 8)}`;
    img.loading = "lazy";
    open.append(img);
    open.addEventListener("click", async () => {
      const shown = await api(job.links.job);
      if (shown.kind !== "image" && window.openMediaJob) { window.openMediaJob(shown); return; } // media.js
      if (window.showTab) window.showTab("photo");
      follow(shown);
    });
    const meta = document.createElement("div");
    meta.className = "meta";
    const label = document.createElement("span");
    label.className = `state-${job.state}`;
    label.textContent = job.state;
    const when = document.createElement("span");
    when.textContent = new Date(job.created * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    meta.append(label, when);
    item.append(open, meta);
    if (job.state !== "running") {
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "delete";
      remove.title = "Delete";
      remove.textContent = "×";
      remove.addEventListener("click", async () => {
        await api(job.links.job, { method: "DELETE" }).catch(() => {});
        refreshHistory();
      });
      item.append(remove);
    }
    history.append(item);
  }
}

// ------------------------------------------------------------------------------------------ start-up

async function main() {
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    window.location.href = `/?token=${encodeURIComponent($("token-input").value)}`;
  });
  let info;
  try {
    info = await api("/api/info");
  } catch (e) {
    if (!$("login").hidden) return;
    $("form-error").textContent = `The server did not answer: ${e.message}`;
    return;
  }
  const c = info.counts;
  $("server-info").textContent =
    `${info.device} · ${info.workers} worker${info.workers > 1 ? "s" : ""} · ${c.running} running, ${c.queued} queued`;
  wireControls(info);
  wireRegion();
  wireFinishing();
  buildGallery(await api("/api/styles"));
  $("job-form").addEventListener("submit", start);
  $("cancel").addEventListener("click", cancelCurrent);
  await refreshHistory();
  document.body.dataset.ready = "true";
}

main();
