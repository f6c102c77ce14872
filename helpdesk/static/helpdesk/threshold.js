// The threshold preview: htmx leaves the old figures in place when the server answers 400 (an
// invalid value such as 1.5); swap the answer in instead, which says the value is invalid, so the
// admin never reads figures that belong to another value. A failed request clears them too.
document.addEventListener("htmx:beforeSwap", function (event) {
  if (event.detail.target && event.detail.target.id === "threshold-preview" && event.detail.xhr.status === 400) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
document.addEventListener("htmx:sendError", function (event) {
  const preview = document.getElementById("threshold-preview");
  if (preview && event.detail.elt && event.detail.elt.id === "id_confidence_threshold") {
    preview.textContent = preview.getAttribute("data-unavailable") || "";
  }
});
