// A few lines of plain JS: the language menu submits itself, and overview widgets refresh in place.
document.addEventListener("DOMContentLoaded", () => {
  for (const select of document.querySelectorAll("select.autosubmit")) {
    select.addEventListener("change", () => select.form.submit());
  }
  const bodies = document.querySelectorAll("[data-refresh]");
  if (!bodies.length) return;
  setInterval(async () => {
    for (const body of bodies) {
      try {
        const answer = await fetch(body.dataset.refresh, { credentials: "same-origin" });
        if (answer.ok) body.innerHTML = await answer.text();
      } catch (e) { /* the service restarts: keep what is shown */ }
    }
  }, 5000);
});
