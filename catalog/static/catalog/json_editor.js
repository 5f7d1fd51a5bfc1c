// JSON boxes with line numbers, checked as the user types by the rules and in the words of
// Python's JSON reader (its C scanner, Python 3.11), so the browser names the line and
// column the server names on saving (catalog/admin/fields.py, `syntax_error`).
"use strict";
(function () {
  const WHITESPACE = " \t\n\r";
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?/y;
  const LITERALS = ["null", "true", "false", "NaN", "Infinity", "-Infinity"];
  const ESCAPES = "\"\\/bfnrt";
  const HEX = /^[0-9a-fA-F]{4}$/;

  class JSONSyntaxError extends Error {
    constructor(message, position) {
      super(message);
      this.position = position;
    }
  }

  function skipWhitespace(text, at) {
    while (at < text.length && WHITESPACE.includes(text[at])) at += 1;
    return at;
  }

  // Each reader takes the text and where its value starts, and answers where it ends.
  function value(text, at) {
    const first = text[at];
    if (first === '"') return string(text, at);
    if (first === "{") return object(text, at);
    if (first === "[") return array(text, at);
    for (const literal of LITERALS.slice(0, 3)) {
      if (text.startsWith(literal, at)) return at + literal.length;
    }
    NUMBER.lastIndex = at;
    const number = NUMBER.exec(text);
    if (number) return at + number[0].length;
    for (const literal of LITERALS.slice(3)) {
      if (text.startsWith(literal, at)) return at + literal.length;
    }
    throw new JSONSyntaxError("Expecting value", at);
  }

  function string(text, start) {
    let at = start + 1;
    for (;;) {
      if (at >= text.length) throw new JSONSyntaxError("Unterminated string", start);
      const c = text[at];
      if (c === '"') return at + 1;
      if (c.charCodeAt(0) <= 0x1f) throw new JSONSyntaxError("Invalid control character", at);
      if (c !== "\\") {
        at += 1;
        continue;
      }
      const escape = at + 1;
      if (escape >= text.length) throw new JSONSyntaxError("Unterminated string", start);
      if (text[escape] !== "u") {
        if (!ESCAPES.includes(text[escape])) throw new JSONSyntaxError("Invalid \\escape", at);
        at = escape + 1;
        continue;
      }
      if (escape + 5 >= text.length || !HEX.test(text.slice(escape + 1, escape + 5))) {
        throw new JSONSyntaxError("Invalid \\uXXXX escape", escape);
      }
      at = escape + 5;
    }
  }

  function object(text, start) {
    let at = skipWhitespace(text, start + 1);
    if (text[at] === "}") return at + 1;
    for (;;) {
      if (text[at] !== '"') {
        throw new JSONSyntaxError("Expecting property name enclosed in double quotes", at);
      }
      at = skipWhitespace(text, string(text, at));
      if (text[at] !== ":") throw new JSONSyntaxError("Expecting ':' delimiter", at);
      at = skipWhitespace(text, value(text, skipWhitespace(text, at + 1)));
      if (text[at] === "}") return at + 1;
      if (text[at] !== ",") throw new JSONSyntaxError("Expecting ',' delimiter", at);
      at = skipWhitespace(text, at + 1);
    }
  }

  function array(text, start) {
    let at = skipWhitespace(text, start + 1);
    if (text[at] === "]") return at + 1;
    for (;;) {
      at = skipWhitespace(text, value(text, at));
      if (text[at] === "]") return at + 1;
      if (text[at] !== ",") throw new JSONSyntaxError("Expecting ',' delimiter", at);
      at = skipWhitespace(text, at + 1);
    }
  }

  function lineAndColumn(text, position) {
    const before = text.slice(0, position);
    const line = before.split("\n").length;
    return [line, position - before.lastIndexOf("\n")];
  }

  // The server's message for `text`, or "" when it is valid JSON (or blank, "no value").
  function jsonProblem(text) {
    if (text === "") return "";
    try {
      if (text.startsWith("\ufeff")) {
        throw new JSONSyntaxError("Unexpected UTF-8 BOM (decode using utf-8-sig)", 0);
      }
      const end = skipWhitespace(text, value(text, skipWhitespace(text, 0)));
      if (end !== text.length) throw new JSONSyntaxError("Extra data", end);
    } catch (error) {
      if (!(error instanceof JSONSyntaxError)) return ""; // too deep for the browser: the server judges
      const [line, column] = lineAndColumn(text, error.position);
      return `Enter valid JSON: line ${line}, column ${column}: ${error.message}.`;
    }
    return "";
  }

  const attached = new WeakSet();

  function attach(editor) {
    if (attached.has(editor) || editor.closest(".empty-form")) return;
    attached.add(editor);
    const textarea = editor.querySelector("textarea");
    const gutter = editor.querySelector(".json-editor-gutter");
    const report = editor.nextElementSibling;
    let timer = null;

    function drawGutter(errorLine) {
      const count = textarea.value.split("\n").length;
      const numbers = [];
      for (let n = 1; n <= count; n += 1) {
        numbers.push(n === errorLine ? `<span class="error-line">${n}</span>` : String(n));
      }
      gutter.innerHTML = numbers.join("\n");
      textarea.rows = Math.min(Math.max(count + 1, 3), 24);
      gutter.scrollTop = textarea.scrollTop;
    }

    // The server's syntax message for the text it was sent; the live check supersedes it.
    function serverSaid(problem) {
      let said = false;
      for (const item of editor.closest(".form-row")?.querySelectorAll(".errorlist li") || []) {
        if (!item.textContent.startsWith("Enter valid JSON: line ")) continue;
        item.classList.toggle("superseded", item.textContent !== problem);
        said = said || item.textContent === problem;
      }
      return said;
    }

    function check() {
      const problem = jsonProblem(textarea.value);
      const line = problem ? Number(problem.match(/line (\d+)/)[1]) : 0;
      report.textContent = serverSaid(problem) ? "" : problem;
      textarea.setAttribute("aria-invalid", problem ? "true" : "false");
      editor.classList.toggle("invalid", Boolean(problem));
      drawGutter(line);
    }

    textarea.addEventListener("input", () => {
      drawGutter(0);
      clearTimeout(timer);
      timer = setTimeout(check, 150);
    });
    textarea.addEventListener("scroll", () => {
      gutter.scrollTop = textarea.scrollTop;
    });
    check();
  }

  function attachAll(root) {
    for (const editor of root.querySelectorAll("[data-json-editor]")) attach(editor);
  }

  window.catalogJSONProblem = jsonProblem;
  document.addEventListener("DOMContentLoaded", () => attachAll(document));
  document.addEventListener("formset:added", (event) => attachAll(event.target));
})();
