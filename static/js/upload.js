// Direct uploads, several at once. For each file: ask the app for a signed form, POST the
// file straight to storage with its own progress bar, then confirm it (or cancel on failure),
// and follow the job's state until the listing is written.
(function () {
  const box = document.querySelector(".uploader");
  if (!box) return;
  const input = box.querySelector("input[type=file]");
  const zone = box.querySelector(".dropzone");
  const list = box.querySelector(".upload-list");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const LABELS = { awaiting_upload: "Uploading…", queued: "Queued…", processing: "Processing…", ready: "Ready" };
  const PARALLEL = 3;

  async function postJSON(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body || {}),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || "The server refused the request.");
    return data;
  }

  function sendToStorage(upload, file, bar) {
    return new Promise((resolve, reject) => {
      const data = new FormData();
      Object.entries(upload.fields).forEach(([k, v]) => data.append(k, v));
      data.append("file", file); // S3 requires the file to be the last field
      const xhr = new XMLHttpRequest();
      xhr.open("POST", upload.url);
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = (100 * e.loaded) / e.total; };
      xhr.onload = () => (xhr.status < 300 ? resolve() : reject(new Error(
        xhr.status === 400 ? "The file is larger than allowed." : "Storage refused the upload.")));
      xhr.onerror = () => reject(new Error("The upload was interrupted. Please try again."));
      xhr.send(data);
    });
  }

  function addRow(file) {
    const li = document.createElement("li");
    li.className = "upload-item";
    const thumb = document.createElement("img");
    thumb.className = "upload-thumb";
    thumb.alt = "";
    thumb.width = 48;
    thumb.height = 48;
    // A local preview of the chosen file; browsers that cannot show it (HEIC) get a blank square.
    if (file.type.startsWith("image/")) thumb.src = URL.createObjectURL(file);
    thumb.addEventListener("load", () => URL.revokeObjectURL(thumb.src), { once: true });
    thumb.addEventListener("error", () => {
      const blank = document.createElement("span");
      blank.className = "upload-thumb";
      blank.setAttribute("aria-hidden", "true");
      thumb.replaceWith(blank);
    }, { once: true });
    const name = document.createElement("span");
    name.className = "upload-name";
    name.textContent = file.name;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Upload of " + file.name);
    const state = document.createElement("span");
    state.className = "upload-state";
    state.textContent = "Waiting…";
    li.append(thumb, name, bar, state);
    list.append(li);
    return { li, bar, state };
  }

  function follow(statusUrl, row) {
    let delay = 700;
    const tick = async () => {
      try {
        const response = await fetch(statusUrl, { headers: { Accept: "application/json" } });
        if (response.ok) {
          const job = await response.json();
          row.li.dataset.state = job.state;
          row.state.textContent = job.state === "failed" ? "Failed: " + job.error : LABELS[job.state];
          if (job.state === "ready" || job.state === "failed") return;
        }
      } catch (err) { /* network blip: keep following */ }
      delay = Math.min(delay * 1.3, 4000);
      setTimeout(tick, delay);
    };
    setTimeout(tick, delay);
  }

  const MAX_BYTES = Number(box.dataset.maxBytes) || Infinity;
  // Browsers often leave the type of a HEIC file empty; the name says what it is.
  function typeOf(file) {
    if (file.type) return file.type;
    return /\.hei[cf]$/i.test(file.name) ? "image/heic" : "";
  }

  // A photo over the limit is redrawn smaller as a JPEG here, instead of being refused: the
  // worker reads at most a few megapixels anyway. HEIC cannot be drawn by most browsers, so
  // an oversized one is sent as it is and the server explains the limit.
  async function withinLimit(file) {
    if (file.size <= MAX_BYTES || !/^image\/(jpeg|png|webp)$/.test(file.type)) return file;
    const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    let scale = Math.min(1, 4096 / Math.max(bitmap.width, bitmap.height));
    for (let attempt = 0; attempt < 6; attempt += 1) {
      const canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9));
      if (blob && blob.size <= MAX_BYTES) {
        return new File([blob], file.name.replace(/\.[^.]*$/, "") + ".jpg", { type: "image/jpeg" });
      }
      scale *= 0.7;
    }
    return file;
  }

  async function uploadOne(original, row) {
    let file = original;
    if (original.size > MAX_BYTES) {
      row.state.textContent = "Making it smaller…";
      file = await withinLimit(original);
      if (file !== original) row.li.dataset.resized = String(file.size);
    }
    const body = { filename: file.name, content_type: typeOf(file), size: file.size };
    if (box.dataset.productId) body.product_id = Number(box.dataset.productId);
    // What the artisan already knows (the "known facts" selects on the new-listing page).
    const facts = {};
    document.querySelectorAll(".known-facts select[data-attribute]").forEach((select) => {
      if (select.value) facts[select.dataset.attribute] = select.value;
    });
    if (Object.keys(facts).length) body.attributes = facts;
    row.state.textContent = "Uploading…";
    const created = await postJSON(box.dataset.createUrl, body);
    try {
      await sendToStorage(created.upload, file, row.bar);
    } catch (err) {
      await postJSON(created.cancel_url).catch(() => {});
      throw err;
    }
    row.bar.value = 100;
    const job = await postJSON(created.confirm_url);
    row.li.dataset.state = job.state;
    row.state.textContent = LABELS[job.state] || job.state;
    const link = document.createElement("a");
    link.href = created.product_url;
    link.textContent = "Open listing";
    row.li.append(link);
    follow(created.status_url, row);
    document.dispatchEvent(new CustomEvent("jai:uploaded", { detail: created }));
  }

  async function uploadAll(files) {
    const queue = Array.from(files).map((file) => [file, addRow(file)]);
    const runner = async () => {
      while (queue.length) {
        const [file, row] = queue.shift();
        try {
          await uploadOne(file, row);
        } catch (err) {
          row.li.dataset.state = "failed";
          row.state.textContent = err.message;
        }
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, runner));
  }

  input.addEventListener("change", () => { uploadAll(input.files); input.value = ""; });
  zone.addEventListener("click", () => input.click());
  zone.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); }
  });
  ["dragenter", "dragover"].forEach((type) => zone.addEventListener(type, (e) => {
    e.preventDefault();
    zone.classList.add("dragging");
  }));
  ["dragleave", "drop"].forEach((type) => zone.addEventListener(type, () => zone.classList.remove("dragging")));
  zone.addEventListener("drop", (e) => { e.preventDefault(); uploadAll(e.dataTransfer.files); });
})();
