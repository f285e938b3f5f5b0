"use strict";
// The Video and Batch tabs of the page: choose a clip or photos and one or more paintings, start a job
// (POST /api/videos or /api/batches), follow its events, show the latest frame or painting, download
// the result. Uses $, api and clock from app.js, which loads first.

const TABS = { photo: "app", video: "panel-video", batch: "panel-batch" };
// The settings a clip or a batch shares with a photo; finishing is painted in (no view to adjust later).
const SHARED = [
  { name: "strength", label: "Style strength", min: 0, max: 1, step: 0.05, value: 0.5 },
  { name: "size", label: "Size", min: 64, max: 1024, step: 32, value: 256, unit: " px" },
  { name: "brightness", label: "Brightness", min: 0.5, max: 1.5, step: 0.05, value: 1 },
  { name: "contrast", label: "Contrast", min: 0.5, max: 1.5, step: 0.05, value: 1 },
  { name: "saturation", label: "Saturation", min: 0, max: 2, step: 0.05, value: 1 },
];
const REGIONS = [["whole", "Whole picture"], ["background", "Background only"], ["subject", "Subject only"], ["faces", "Faces only"]];
const media = {
  video: { file: null, styleFiles: [], events: null, job: null },
  batch: { files: [], styleFiles: [], events: null, job: null },
};

function showTab(name) {
  for (const [tab, panel] of Object.entries(TABS)) {
    $(`tab-${tab}`).setAttribute("aria-selected", String(tab === name));
    $(panel).hidden = tab !== name;
  }
  document.body.dataset.tab = name;
}

function sharedControls(prefix, info) {
  const box = document.querySelector(`[data-settings="${prefix}"]`);
  const first = box.firstChild;
  for (const s of SHARED) {
    const label = document.createElement("label");
    label.htmlFor = `${prefix}-${s.name}`;
    label.textContent = `${s.label} `;
    const shown = document.createElement("output");
    label.append(shown);
    const range = document.createElement("input");
    Object.assign(range, { type: "range", id: `${prefix}-${s.name}`, min: s.min, max: s.max, step: s.step });
    if (s.name === "size") range.max = String(Math.min(s.max, info.limits.max_size));
    range.value = String(Math.min(s.value, Number(range.max)));
    const show = () => { shown.textContent = s.unit ? `${range.value}${s.unit}` : Number(range.value).toFixed(2); };
    range.addEventListener("input", show);
    show();
    box.insertBefore(label, first);
    box.insertBefore(range, first);
  }
  const label = document.createElement("label");
  label.htmlFor = `${prefix}-region`;
  label.textContent = "Region";
  const region = document.createElement("select");
  region.id = `${prefix}-region`;
  for (const [value, text] of REGIONS) region.append(new Option(text, value));
  box.insertBefore(label, first);
  box.insertBefore(region, first);
}

function appendShared(form, prefix) {
  for (const s of SHARED) form.append(s.name, $(`${prefix}-${s.name}`).value);
  form.append("mask_mode", $(`${prefix}-region`).value);
}

function buildStyles(prefix, styles) {
  const box = $(`${prefix}-styles`);
  const many = box.dataset.pick === "many";
  styles.forEach((style, index) => {
    const tile = document.createElement("button");
    tile.type = "button";
    tile.className = "tile";
    tile.setAttribute("role", many ? "checkbox" : "radio");
    tile.setAttribute("aria-checked", String(index === 0));
    tile.dataset.styleId = style.id;
    tile.title = `${style.title}, ${style.artist} (${style.year})`;
    const img = document.createElement("img");
    img.src = style.url;
    img.alt = style.title;
    tile.append(img);
    tile.addEventListener("click", () => {
      const on = tile.getAttribute("aria-checked") !== "true";
      if (!many) for (const other of box.querySelectorAll(".tile")) other.setAttribute("aria-checked", "false");
      tile.setAttribute("aria-checked", String(many ? on : true));
    });
    box.append(tile);
  });
  $(`${prefix}-style-input`).addEventListener("change", (event) => {
    media[prefix].styleFiles = Array.from(event.target.files);
    if (!many && media[prefix].styleFiles.length) {
      for (const tile of box.querySelectorAll(".tile")) tile.setAttribute("aria-checked", "false");
    }
  });
}

function appendStyles(form, prefix) {
  for (const file of media[prefix].styleFiles) form.append("style", file);
  for (const tile of $(`${prefix}-styles`).querySelectorAll('.tile[aria-checked="true"]')) {
    form.append("style_id", tile.dataset.styleId);
  }
}

function wireDrop(prefix, take) {
  const drop = $(`${prefix}-drop`);
  $(`${prefix}-input`).addEventListener("change", (event) => take(Array.from(event.target.files)));
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    take(Array.from(event.dataTransfer.files));
  });
}

function megabytes(bytes) {
  return `${Math.round(bytes / 2 ** 20)} MB`;
}

// ------------------------------------------------------------------------------------------ a job

async function startMedia(event, prefix) {
  event.preventDefault();
  const error = $(`${prefix}-error`);
  error.textContent = "";
  const form = new FormData();
  if (prefix === "video") {
    if (!media.video.file) { error.textContent = "Choose a clip first."; return; }
    form.append("video", media.video.file);
    form.append("start", $("video-start").value || "0");
    form.append("duration", $("video-duration").value || "0");
    form.append("temporal_blend", $("video-blend").value);
    form.append("container", $("video-container").value);
  } else {
    if (!media.batch.files.length) { error.textContent = "Choose some photos, or a zip of them, first."; return; }
    for (const file of media.batch.files) form.append("photos", file);
    form.append("pair", $("batch-pair").value);
  }
  appendStyles(form, prefix);
  if (!form.has("style") && !form.has("style_id")) { error.textContent = "Pick a painting, or upload your own."; return; }
  appendShared(form, prefix);
  $(`${prefix}-start-job`).disabled = true;
  try {
    const job = await api(prefix === "video" ? "/api/videos" : "/api/batches", { method: "POST", body: form });
    followMedia(prefix, job);
    refreshHistory();
  } catch (e) {
    error.textContent = e.message;
  } finally {
    $(`${prefix}-start-job`).disabled = false;
  }
}

function followMedia(prefix, job) {
  const state = media[prefix];
  if (state.events) state.events.close();
  state.events = null;
  state.job = job.id;
  $(`${prefix}-preview`).hidden = true;
  if (prefix === "video") $("video-result").hidden = true;
  showMedia(prefix, job);
  if (job.state !== "queued" && job.state !== "running") return;
  const events = new EventSource(job.links.events);
  state.events = events;
  events.addEventListener("job", (message) => {
    const update = JSON.parse(message.data);
    if (update.id === state.job) showMedia(prefix, update);
  });
  events.addEventListener("end", () => {
    events.close();
    if (state.events === events) state.events = null;
    refreshHistory();
  });
}

function showMedia(prefix, job) {
  const p = job.progress;
  const unit = prefix === "video" ? "frame" : "item";
  const bar = $(`${prefix}-progress`);
  const text = $(`${prefix}-progress-text`);
  bar.max = Math.max(1, p.total);
  bar.value = job.state === "done" ? bar.max : p.done;
  text.classList.toggle("failed", job.state === "failed");
  if (job.state === "queued") {
    text.textContent = `Waiting in the queue${job.queue_position ? ` (${job.queue_position} ahead)` : ""}…`;
  } else if (job.state === "running") {
    const eta = p.eta != null && p.done > 0 ? ` · about ${clock(p.eta)} left` : "";
    text.textContent = job.cancel_requested ? "Stopping…" : `Painting: ${unit} ${p.done} of ${p.total}${eta}`;
  } else if (job.state === "done") {
    const failed = (job.outcome.failed || []).length;
    text.textContent = prefix === "video"
      ? `Done: ${job.outcome.frames} frames, ${job.result.width}×${job.result.height}`
      : `Done: ${job.outcome.painted} paintings${failed ? `, ${failed} failed` : ""}`;
  } else if (job.state === "failed") {
    text.textContent = `Failed: ${job.error}`;
  } else {
    text.textContent = "Cancelled.";
  }
  const preview = $(`${prefix}-preview`);
  const picture = job.links.preview || (job.state === "done" ? job.links.thumb : null);
  if (picture && preview.getAttribute("src") !== picture) preview.src = picture;
  preview.hidden = !picture || (prefix === "video" && job.state === "done");
  $(`${prefix}-placeholder`).hidden = Boolean(picture) || job.state === "done";
  if (prefix === "video" && job.state === "done") {
    const video = $("video-result");
    if (video.getAttribute("src") !== job.links.result) video.src = job.links.result;
    video.hidden = false;
  }
  if (prefix === "batch") showItems(job.items);
  $(`${prefix}-cancel`).hidden = !(job.state === "queued" || job.state === "running");
  const download = $(`${prefix}-download`);
  download.hidden = job.state !== "done";
  if (job.state === "done") download.href = job.links.download;
}

function showItems(items) {
  const list = $("batch-items");
  list.replaceChildren();
  for (const item of items) {
    const row = document.createElement("li");
    const name = document.createElement("span");
    name.textContent = item.name;
    const status = document.createElement("span");
    status.className = `status-${item.status}`;
    status.textContent = item.status;
    if (item.message) status.title = item.message;
    row.append(name, status);
    list.append(row);
  }
}

async function cancelMedia(prefix) {
  const id = media[prefix].job;
  if (!id) return;
  try {
    showMedia(prefix, await api(`/api/jobs/${id}/cancel`, { method: "POST" }));
  } catch (e) {
    $(`${prefix}-error`).textContent = e.message;
  }
}

window.showTab = showTab;
// A video or batch job picked from the history (app.js hands it over)
window.openMediaJob = (job) => {
  showTab(job.kind);
  followMedia(job.kind, job);
};

// ------------------------------------------------------------------------------------------ start-up

async function mediaMain() {
  for (const tab of Object.keys(TABS)) $(`tab-${tab}`).addEventListener("click", () => showTab(tab));
  let info, styles;
  try {
    [info, styles] = await Promise.all([api("/api/info"), api("/api/styles")]);
  } catch (_) {
    return; // app.js shows the login or the problem
  }
  const l = info.limits;
  $("video-limits").textContent = `Up to ${megabytes(l.max_video_bytes)}, ${l.max_clip_seconds} s painted per clip.`;
  $("batch-limits").textContent = `Up to ${l.max_batch_items} photos, ${megabytes(l.max_batch_bytes)} in all.`;
  for (const prefix of ["video", "batch"]) {
    sharedControls(prefix, info);
    buildStyles(prefix, styles);
    $(`${prefix}-form`).addEventListener("submit", (event) => startMedia(event, prefix));
    $(`${prefix}-cancel`).addEventListener("click", () => cancelMedia(prefix));
  }
  $("video-blend").addEventListener("input", () => {
    $("video-blend-value").textContent = Number($("video-blend").value).toFixed(2);
  });
  wireDrop("video", (files) => {
    if (!files.length) return;
    media.video.file = files[0];
    $("video-text").textContent = `${files[0].name} (click or drop to change)`;
  });
  wireDrop("batch", (files) => {
    if (!files.length) return;
    media.batch.files = files;
    const names = files.map((file) => file.name);
    const shown = names.length > 3 ? `${names.slice(0, 3).join(", ")} and ${names.length - 3} more` : names.join(", ");
    $("batch-text").textContent = `${shown} (click or drop to change)`;
  });
  document.body.dataset.mediaReady = "true";
}

mediaMain();
