// A few lines of plain JS: the language menu submits itself, overview widgets refresh in place,
// and a widget dragged by its title bar to another place is saved there (the ← → buttons stay,
// for the keyboard and phones).
document.addEventListener("DOMContentLoaded", () => {
  for (const select of document.querySelectorAll("select.autosubmit")) {
    select.addEventListener("change", () => select.form.submit());
  }
  const grid = document.querySelector(".grid[data-layout]");
  if (grid) arrange(grid);
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

function arrange(grid) {
  let dragged = null;
  grid.addEventListener("dragstart", (event) => {
    dragged = event.target.closest(".widget");
    if (!dragged) return;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.widget);
    dragged.classList.add("dragging");
  });
  grid.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
  });
  grid.addEventListener("dragover", (event) => {
    if (dragged) event.preventDefault();
  });
  grid.addEventListener("drop", async (event) => {
    const target = event.target.closest(".widget");
    if (!dragged || !target || target === dragged) return;
    event.preventDefault();
    const cards = [...grid.querySelectorAll(".widget")];
    const to = cards.indexOf(target);
    grid.insertBefore(dragged, cards.indexOf(dragged) < to ? target.nextSibling : target);
    const form = new FormData();
    form.append("csrf", grid.dataset.csrf);
    form.append("action", "place");
    form.append("widget", dragged.dataset.widget);
    form.append("value", String(to));
    const saved = await fetch(grid.dataset.layout, { method: "POST", body: form, credentials: "same-origin" });
    grid.dataset.saved = saved.ok ? "yes" : "no";
  });
}
