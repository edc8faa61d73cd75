// Live product page: poll the small JSON job endpoint and update the state line in place;
// when the job finishes, swap in the fresh panel (photos, listing, forms) without a reload.
(function () {
  const panel = document.getElementById("product-panel");
  if (!panel) return;
  const TEXT = {
    queued: "Queued: your photo is waiting for the writer…",
    processing: "Processing: reading the photo and writing the listing…",
    ready: "Listing ready",
  };
  let timer = null;
  let dirty = false; // unsaved typing in the panel's forms is never thrown away

  panel.addEventListener("input", () => { dirty = true; });

  async function refresh() {
    const response = await fetch(panel.dataset.panelUrl, { headers: { "HX-Request": "true" } });
    if (!response.ok) return;
    panel.innerHTML = await response.text();
    dirty = false;
    if (window.htmx) window.htmx.process(panel);
    start();
  }

  function offerRefresh(line) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "link";
    button.textContent = "Show the new version (your unsaved changes will be lost)";
    button.addEventListener("click", refresh);
    line.append(" ", button);
  }

  function start() {
    clearTimeout(timer);
    const line = panel.querySelector("[data-status-url]");
    if (!line) return;
    let delay = 700;
    const tick = async () => {
      try {
        const response = await fetch(line.dataset.statusUrl, { headers: { Accept: "application/json" } });
        if (response.ok) {
          const job = await response.json();
          if (job.state !== line.dataset.state) {
            line.dataset.state = job.state;
            line.className = "state state-" + job.state;
            line.textContent = job.state === "failed" ? "Failed: " + job.error : TEXT[job.state] || job.state;
          }
          if (job.state === "ready" || job.state === "failed") {
            if (dirty) offerRefresh(line); else await refresh();
            return;
          }
        }
      } catch (err) { /* network blip: keep polling */ }
      delay = Math.min(delay * 1.3, 4000);
      timer = setTimeout(tick, delay);
    };
    timer = setTimeout(tick, delay);
  }

  document.addEventListener("jai:uploaded", () => { if (!dirty) refresh(); });
  // htmx swapped in a new panel (after "Regenerate", which saved the typing first): follow its job.
  // A smaller swap inside the panel (the rating box) leaves the listing form, and its typing, alone.
  panel.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target !== panel) return;
    dirty = false;
    start();
  });
  start();
})();
