// Shows only the fields of the kind chosen for each schedule in the deployment form.
"use strict";
(function () {
  const FIELDS = {
    interval: ["interval", "anchor_date"],
    cron: ["cron", "day_or"],
    rrule: ["rrule"],
  };
  const ALL = Object.values(FIELDS).flat();

  function rowOf(fieldset, name) {
    const input = fieldset.querySelector(`[name$="-${name}"]`);
    return input ? input.closest(".form-row, .fieldBox") : null;
  }

  function showKind(kindSelect) {
    const fieldset = kindSelect.closest("fieldset");
    const shown = FIELDS[kindSelect.value] || [];
    for (const name of ALL) {
      const row = rowOf(fieldset, name);
      // A style, not the hidden attribute: the admin's flex layout would override it.
      if (row) row.style.display = shown.includes(name) ? "" : "none";
    }
  }

  function watch(root) {
    for (const select of root.querySelectorAll('select[name$="-kind"]')) {
      showKind(select);
      select.addEventListener("change", () => showKind(select));
    }
  }

  document.addEventListener("DOMContentLoaded", () => watch(document));
  document.addEventListener("formset:added", (event) => watch(event.target));
})();
