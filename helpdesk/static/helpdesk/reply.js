// Ticket page: the reply form's button says what will happen (send a reply / add an internal note).
// Without JavaScript the radio buttons still choose, and CSS (:has) still turns notes yellow.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("reply-form");
  if (!form) return;
  const button = form.querySelector("button[type=submit]");
  const update = () => {
    const internal = form.querySelector("input[name=visibility][value=internal]").checked;
    button.textContent = internal ? button.dataset.internalLabel : button.dataset.publicLabel;
    button.classList.toggle("note-button", internal);
  };
  form.querySelectorAll("input[name=visibility]").forEach((radio) => radio.addEventListener("change", update));
  update();
});
