// The import page: a file past the page's limit is refused before it is sent, beside the
// field, as the server would refuse it after the upload.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const input = document.querySelector("#upload-form input[type=file][data-max-bytes]");
  if (!input) return;
  const limit = Number(input.dataset.maxBytes);
  const note = document.createElement("div");
  note.className = "upload-too-large";
  note.setAttribute("role", "alert");
  input.closest(".form-row").prepend(note);
  const tooLarge = () => {
    const file = input.files[0];
    const over = Boolean(file) && file.size > limit;
    note.textContent = over
      ? `The file is ${file.size.toLocaleString()} bytes, more than the ${limit.toLocaleString()} this page takes (CATALOG_ADMIN_IMPORT_MAX_BYTES).`
      : "";
    return over;
  };
  input.addEventListener("change", tooLarge);
  input.form.addEventListener("submit", (event) => {
    if (tooLarge()) event.preventDefault();
  });
});
