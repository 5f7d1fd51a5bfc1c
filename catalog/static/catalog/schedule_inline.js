// The schedules of the deployment form: each shows only the chosen kind's fields and
// help, and previews its next runs (in its zone and in UTC) as its fields are typed,
// asking the admin's schedule-preview/ (which checks the schedule as a save does).
"use strict";
(function () {
  const KINDS = ["interval", "cron", "rrule"];
  // The schedule's fields the runs depend on; whether they will run depends on `active`.
  const PREVIEWED = ["kind", "interval", "anchor_date", "cron", "day_or", "rrule", "timezone"];
  const WAIT_MS = 300;
  const pending = new WeakMap();

  function schedulesOf(root) {
    const found = root.matches && root.matches(".inline-related") ? [root] : [];
    found.push(...root.querySelectorAll(".inline-related"));
    return found.filter((schedule) => schedule.querySelector('[name$="-kind"]'));
  }

  function fieldOf(schedule, name) {
    return schedule.querySelector(`[name$="-${name}"]`);
  }

  function isTemplate(schedule) {
    return schedule.classList.contains("empty-form");
  }

  function showKind(schedule) {
    const kind = fieldOf(schedule, "kind").value;
    for (const each of KINDS) {
      // Whole lines (field and help), by style: the admin's flex layout overrides `hidden`.
      for (const line of schedule.querySelectorAll(`.form-row.field-${each}`)) {
        line.style.display = each === kind ? "" : "none";
      }
    }
  }

  function query(schedule) {
    const params = new URLSearchParams();
    for (const name of PREVIEWED) {
      const field = fieldOf(schedule, name);
      if (!field) continue;
      params.set(name, field.type === "checkbox" ? String(field.checked) : field.value);
    }
    const active = fieldOf(schedule, "active");
    const paused = document.querySelector('input[name="paused"]');
    params.set("active", String(!active || active.checked));
    params.set("paused", String(Boolean(paused && paused.checked)));
    return params;
  }

  function element(tag, className, text) {
    const made = document.createElement(tag);
    if (className) made.className = className;
    if (text !== undefined) made.textContent = text;
    return made;
  }

  function runsTable(zone, runs) {
    const table = element("table", "schedule-runs-table");
    const head = table.createTHead().insertRow();
    head.append(element("th", "", zone), element("th", "", "UTC"));
    const body = table.createTBody();
    for (const run of runs) {
      const row = body.insertRow();
      row.append(element("td", "", run.local), element("td", "", run.utc));
    }
    return table;
  }

  function draw(box, answer) {
    const parts = [];
    if (answer.note) parts.push(element("p", "schedule-not-running", answer.note));
    if (answer.error) parts.push(element("p", "schedule-preview-error", answer.error));
    else if (!answer.runs.length) parts.push(element("p", "schedule-no-runs", "no further runs"));
    else parts.push(runsTable(answer.zone, answer.runs));
    parts.push(element("p", "schedule-preview-caption", "Preview of the schedule as typed."));
    box.replaceChildren(...parts);
  }

  async function answerFor(url, signal) {
    const response = await fetch(url, { headers: { Accept: "application/json" }, signal });
    const type = response.headers.get("Content-Type") || "";
    if (!type.includes("application/json")) {
      return { error: "The preview is not available: log in again (reload the page)." };
    }
    return response.json();
  }

  async function preview(schedule) {
    const box = schedule.querySelector(".schedule-runs");
    if (!box || isTemplate(schedule) || !fieldOf(schedule, "kind").value) return;
    const earlier = pending.get(schedule);
    if (earlier) earlier.abort();
    const controller = new AbortController();
    pending.set(schedule, controller);
    box.dataset.state = "loading";
    try {
      const answer = await answerFor(`${box.dataset.previewUrl}?${query(schedule)}`, controller.signal);
      draw(box, answer);
    } catch (error) {
      if (error.name === "AbortError") return;
      draw(box, { error: `The preview is not available: ${error.message}` });
    }
    box.dataset.state = "done";
  }

  function previewSoon(schedule) {
    const box = schedule.querySelector(".schedule-runs");
    if (box && !isTemplate(schedule)) box.dataset.state = "waiting"; // the runs shown are stale
    clearTimeout(schedule.catalogPreviewTimer);
    schedule.catalogPreviewTimer = setTimeout(() => preview(schedule), WAIT_MS);
  }

  function changed(event) {
    const target = event.target;
    if (target.name === "paused") {
      schedulesOf(document).forEach(previewSoon);
      return;
    }
    const schedule = target.closest(".inline-related");
    if (!schedule || !target.name) return;
    const name = target.name.slice(target.name.lastIndexOf("-") + 1);
    if (name === "kind") showKind(schedule);
    if (PREVIEWED.includes(name) || name === "active") previewSoon(schedule);
  }

  function start(root) {
    for (const schedule of schedulesOf(root)) showKind(schedule);
  }

  document.addEventListener("DOMContentLoaded", () => {
    start(document);
    // After a refused save the runs shown are the saved schedule's: preview what was sent.
    if (document.querySelector(".errornote")) schedulesOf(document).forEach(preview);
    document.addEventListener("input", changed);
    document.addEventListener("change", changed);
  });
  document.addEventListener("formset:added", (event) => start(event.target));
})();
