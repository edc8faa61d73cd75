// Direct upload: ask the app for a signed form, POST the file straight to storage,
// then tell the app it arrived and go to the product page, which polls.
(function () {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const input = document.getElementById("photo");
  const message = document.getElementById("upload-message");
  const progress = document.getElementById("upload-progress");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;

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

  function sendToStorage(upload, file) {
    return new Promise((resolve, reject) => {
      const data = new FormData();
      Object.entries(upload.fields).forEach(([k, v]) => data.append(k, v));
      data.append("file", file); // S3 requires the file to be the last field
      const xhr = new XMLHttpRequest();
      xhr.open("POST", upload.url);
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) progress.value = (100 * e.loaded) / e.total; };
      xhr.onload = () => (xhr.status < 300 ? resolve() : reject(new Error(
        xhr.status === 400 ? "The file is larger than allowed." : "Storage refused the upload.")));
      xhr.onerror = () => reject(new Error("The upload was interrupted. Please try again."));
      xhr.send(data);
    });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = input.files[0];
    if (!file) { message.textContent = "Please choose a photo."; return; }
    progress.hidden = false;
    message.textContent = "Uploading…";
    try {
      const created = await postJSON(form.dataset.createUrl, {
        filename: file.name, content_type: file.type, size: file.size });
      try {
        await sendToStorage(created.upload, file);
      } catch (err) {
        await postJSON(created.cancel_url).catch(() => {});
        throw err;
      }
      message.textContent = "Uploaded. Describing your piece…";
      await postJSON(created.confirm_url);
      window.location.assign(created.product_url);
    } catch (err) {
      message.textContent = err.message;
      progress.hidden = true;
    }
  });
})();
