// Dashboard behaviour that HTMX does not cover: inserting a suggestion's text into the reply box.
document.addEventListener("htmx:afterRequest", function (event) {
  const button = event.detail.elt;
  if (!button.classList || !button.classList.contains("insert") || !event.detail.successful) return;
  let payload;
  try { payload = JSON.parse(event.detail.xhr.responseText); } catch (e) { return; }
  const reply = document.getElementById("id_body");
  if (!reply || !payload.text) return;
  reply.value = reply.value.trim() ? reply.value.replace(/\s+$/, "") + "\n\n" + payload.text : payload.text;
  // Show the whole inserted answer for review before it is sent (up to 18 lines; it scrolls beyond).
  reply.rows = Math.min(18, Math.max(reply.rows, reply.value.split("\n").length + 1));
  reply.focus();
  button.setAttribute("aria-pressed", "true");
});

// Controls marked data-submit-on-change submit their form when changed (the interface-language menu);
// a listener here rather than an inline handler, which the Content-Security-Policy would refuse.
// From the keyboard, arrow keys step through a closed menu and fire "change" at every step: there the
// choice is submitted with Enter or when focus leaves the menu, so browsing the list does not reload
// the page under the user (WCAG 3.2.2).
function submitsOnChange(control) {
  return control && control.form && control.hasAttribute && control.hasAttribute("data-submit-on-change");
}
let keyboardChanged = null;
document.addEventListener("keydown", function (event) {
  const control = event.target;
  if (!submitsOnChange(control)) return;
  if (event.key === "Enter" && keyboardChanged === control) { event.preventDefault(); control.form.submit(); }
  else if (event.key !== "Enter" && event.key !== "Tab") keyboardChanged = control;
});
document.addEventListener("change", function (event) {
  const control = event.target;
  if (submitsOnChange(control) && keyboardChanged !== control) control.form.submit();
});
document.addEventListener("focusout", function (event) {
  const control = event.target;
  if (submitsOnChange(control) && keyboardChanged === control) {
    keyboardChanged = null;
    const chosen = control.options[control.selectedIndex];
    if (chosen && !chosen.defaultSelected) control.form.submit();
  }
});

// Links marked data-opens-dialog="<id>" open that <dialog> (e.g. "Rotate key…" asks before acting);
// without JavaScript they lead to a confirmation page. Inside a dialog, [data-close-dialog] cancels.
document.addEventListener("click", function (event) {
  const opener = event.target.closest && event.target.closest("[data-opens-dialog]");
  if (opener) {
    const dialog = document.getElementById(opener.dataset.opensDialog);
    if (dialog && typeof dialog.showModal === "function") {
      event.preventDefault();
      dialog.showModal();
      const first = dialog.querySelector("select, button, [href]");
      if (first) first.focus();
    }
    return;
  }
  const closer = event.target.closest && event.target.closest("dialog [data-close-dialog]");
  if (closer) {
    event.preventDefault();
    closer.closest("dialog").close();
  }
});

// Forms marked data-confirm="question" ask before an action that takes something away (unpublishing
// an article customers read, discarding a colleague's edit); without JavaScript they submit as before.
document.addEventListener("submit", function (event) {
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
