// The "As the API returns it" panel: its JSON copied in one click, through the Clipboard
// API, else by selecting the text and asking the browser to copy the selection.
"use strict";
(function () {
  const SHOWN_MS = 5000;

  function selectText(element) {
    const selection = window.getSelection();
    selection.removeAllRanges();
    const range = document.createRange();
    range.selectNodeContents(element);
    selection.addRange(range);
  }

  async function copy(panel) {
    const text = panel.querySelector(".json-text");
    const status = panel.querySelector(".json-copied");
    let copied = false;
    try {
      await navigator.clipboard.writeText(text.textContent);
      copied = true;
    } catch (error) {
      selectText(text);
      try {
        copied = document.execCommand("copy");
      } catch (ignored) {
        copied = false;
      }
    }
    status.textContent = copied ? "Copied" : "Selected: press Ctrl+C (⌘C) to copy";
    clearTimeout(panel.catalogTimer);
    panel.catalogTimer = setTimeout(() => {
      status.textContent = "";
    }, SHOWN_MS);
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest(".json-copy");
    if (button) copy(button.closest("[data-json-panel]"));
  });
})();
