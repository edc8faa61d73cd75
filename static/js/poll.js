// Poll the job status while the worker runs; reload once it has finished.
(function () {
  const card = document.querySelector("[data-status-url]");
  if (!card) return;
  const url = card.dataset.statusUrl;
  let delay = 800;
  async function poll() {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const job = await response.json();
        if (job.state === "ready" || job.state === "failed") { window.location.reload(); return; }
      }
    } catch (err) { /* network blip: keep polling */ }
    delay = Math.min(delay * 1.3, 4000);
    setTimeout(poll, delay);
  }
  setTimeout(poll, delay);
})();
