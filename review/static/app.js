// Keyboard first: digits pick (or, for several classes, toggle) a class, Enter confirms,
// s skips, u undoes the last answer. Every action is also a plain form button.
"use strict";
document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
  const t = e.target;
  if (t instanceof HTMLInputElement && (t.type === "text" || t.type === "password" || t.type === "number")) return;
  if (t instanceof HTMLTextAreaElement) return;
  const form = document.getElementById("answer");
  const undo = document.getElementById("undo");
  if (/^[1-9]$/.test(e.key) && form) {
    const input = form.querySelectorAll("input[name=class]")[Number(e.key) - 1];
    if (!input) return;
    e.preventDefault();
    input.checked = input.type === "radio" ? true : !input.checked;
    input.focus();
  } else if (e.key === "Enter" && form) {
    e.preventDefault();
    if (form.querySelector("input[name=class]:checked")) form.requestSubmit(document.getElementById("confirm"));
  } else if (e.key === "s" && form) {
    e.preventDefault();
    form.requestSubmit(document.getElementById("skip"));
  } else if (e.key === "u" && undo) {
    e.preventDefault();
    undo.requestSubmit();
  }
});
