// The page's logic: upload, poll the job, then show the comparison. The server's API is described in app.py.
"use strict";

const $ = (id) => document.getElementById(id);
let job = null;      // the current job's status, as the server last reported it
let limits = null;   // /api/config
let uploading = null;  // an AbortController while a file is being sent

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

function seconds(s) {
  if (s == null) return "";
  return s < 60 ? `${Math.ceil(s)} s` : `${Math.floor(s / 60)} min ${Math.ceil(s % 60)} s`;
}

function describe(status) {
  if (status.state === "queued") {
    const ahead = status.jobs_ahead;
    return `Waiting: the server runs one job at a time, and ${ahead === 0 ? "another one is" :
      `${ahead + 1} others are`} ahead of yours.`;
  }
  const photo = status.kind === "photo";
  if (status.stage === "preparing") {
    return `Working on ${status.name}: ${photo ? "reading" : "re-encoding"} the original for the browser…`;
  }
  if (status.stage !== "deblurring") return `Working on ${status.name}: ${status.stage}…`;
  if (photo) return `Deblurring ${status.name}…`;
  const total = status.total_frames ? ` of ${status.total_frames}` : "";
  const speed = status.frames_per_second ? ` · ${status.frames_per_second.toFixed(2)} frames/s` : "";
  const left = status.seconds_left != null ? ` · about ${seconds(status.seconds_left)} left` : "";
  return `Deblurring ${status.name}: ${status.frames_done}${total} frames${speed}${left}`;
}

async function loadConfig() {
  limits = await (await fetch("/api/config")).json();
  for (const name of limits.models) {
    const option = new Option(name, name, name === limits.default_model, name === limits.default_model);
    $("model").add(option);
  }
  $("limits").textContent =
    `Up to ${Math.round(limits.max_upload_bytes / 1e6)} MB; videos up to ${limits.max_frames} frames.`;
}

async function upload(file) {
  showError("");
  $("upload").hidden = true;
  $("progress").hidden = false;
  $("status").textContent = `Uploading ${file.name}…`;
  $("bar").removeAttribute("value");
  const query = new URLSearchParams({ model: $("model").value, name: file.name });
  let response;
  uploading = new AbortController();
  try {
    response = await fetch(`/api/jobs?${query}`, { method: "POST", body: file, signal: uploading.signal });
  } catch (error) {
    return fail(error.name === "AbortError" ? "" : "The upload failed: the server could not be reached.");
  } finally {
    uploading = null;
  }
  const body = await response.json().catch(() => ({ error: `The server answered ${response.status}.` }));
  if (!response.ok) return fail(body.error);
  job = body;
  poll();
}

function fail(message) {
  showError(message);
  $("progress").hidden = true;
  $("upload").hidden = false;
  job = null;
}

async function poll() {
  if (!job) return;
  const response = await fetch(`/api/jobs/${job.id}`);
  const status = await response.json();
  if (!response.ok) return fail(status.error);
  if (!job || job.id !== status.id) return;  // cancelled meanwhile
  job = status;
  $("status").textContent = describe(status);
  if (status.state === "running" && status.total_frames && status.stage === "deblurring") {
    $("bar").value = status.frames_done / status.total_frames;
  } else {
    $("bar").removeAttribute("value");
  }
  if (status.state === "done") return showComparison(status);
  if (status.state === "failed") return fail(status.error);
  if (status.state === "cancelled") return fail("");
  setTimeout(poll, 500);
}

async function cancel() {
  if (uploading) return uploading.abort();
  if (!job) return;
  const id = job.id;
  $("status").textContent = "Cancelling…";
  await fetch(`/api/jobs/${id}`, { method: "DELETE" });
}

// A video's comparison is four players; a photograph's, the same four places as pictures (ids ending "-photo").
const MEDIA = ["split-before", "split-after", "before", "after"];

function showComparison(status) {
  $("progress").hidden = true;
  $("compare").hidden = false;
  $("compare").dataset.kind = status.kind;
  const base = `/api/jobs/${status.id}`;
  const suffix = status.kind === "photo" ? "-photo" : "";
  for (const id of MEDIA) $(id + suffix).src = `${base}/${id.endsWith("before") ? "before" : "result"}`;
  $("download").href = `${base}/download`;
  $("warning").textContent = status.warning || "";
  $("warning").hidden = !status.warning;
  if (!suffix) $("split-after").addEventListener("loadeddata", showFrame, { once: true });
}

// The split view shows one frame: both stacked players paused at the same time.
function showFrame() {
  const before = $("split-before"), after = $("split-after");
  const fraction = $("frame").value / 1000;
  const frames = job && job.total_frames ? job.total_frames : 1;
  const index = Math.min(frames - 1, Math.floor(fraction * frames));
  const time = before.duration ? ((index + 0.5) / frames) * before.duration : 0;
  before.currentTime = time;
  after.currentTime = time;
  $("frame-label").textContent = `frame ${index + 1} of ${frames}`;
}

function moveSplit() {
  const at = $("split-at").value;
  for (const id of ["split-after", "split-after-photo"]) $(id).style.clipPath = `inset(0 0 0 ${at}%)`;
  $("split-line").style.left = `${at}%`;
}

// The pair plays together: the result follows the original's clock.
function playBoth() {
  const before = $("before"), after = $("after");
  if (before.paused) {
    after.currentTime = before.currentTime;
    Promise.all([before.play(), after.play()]).catch((error) => showError(`The browser cannot play: ${error}`));
    $("play").textContent = "Pause both";
  } else {
    before.pause();
    after.pause();
    after.currentTime = before.currentTime;  // paused, both show the same frame
    after.playbackRate = 1;
    $("play").textContent = "Play both";
  }
}

function keepInStep() {
  const before = $("before"), after = $("after");
  if (before.paused) return;
  // A seek stalls the player for a moment, so small drift is taken up by playing the result a little faster or
  // slower; only a jump (a loop, or a seek in the original) makes it seek. 20 ms is half a frame at 25 frames/s.
  const drift = after.currentTime - before.currentTime;
  if (Math.abs(drift) > 0.25) after.currentTime = before.currentTime;
  else after.playbackRate = drift > 0.02 ? 0.95 : drift < -0.02 ? 1.05 : 1;
}

function reset() {
  $("compare").hidden = true;
  $("upload").hidden = false;
  for (const id of MEDIA) for (const element of [$(id), $(id + "-photo")]) element.removeAttribute("src");
  $("play").textContent = "Play both";
  $("file").value = "";
  job = null;
}

function setUp() {
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer.files.length) upload(event.dataTransfer.files[0]);
  });
  $("file").addEventListener("change", () => { if ($("file").files.length) upload($("file").files[0]); });
  $("cancel").addEventListener("click", cancel);
  $("split-at").addEventListener("input", moveSplit);
  $("frame").addEventListener("input", showFrame);
  $("play").addEventListener("click", playBoth);
  $("before").addEventListener("timeupdate", keepInStep);
  $("again").addEventListener("click", reset);
  loadConfig().catch(() => showError("The server could not be reached."));
}

setUp();
