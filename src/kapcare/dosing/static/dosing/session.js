// The dosing session page: keyboard-first vitals entry over HTMX. A file of its own because
// the Content-Security-Policy allows no inline script.
(function () {
  "use strict";

  // HTMX leaves 4xx answers unswapped by default. The live vitals panel's refusals (a value
  // out of range, an acknowledgement without the action taken) are the panel itself with the
  // error named and the entered values kept, so show them.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    var target = event.detail.target;
    if (status >= 400 && status < 500 && target && target.hasAttribute("data-swap-errors")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // After a row is saved (or refused) the nurse types the next one: put the cursor back in
  // the first field, or in the field that was refused.
  document.addEventListener("htmx:afterSettle", function (event) {
    var config = event.detail.requestConfig;
    if (!config || !config.elt || config.elt.id !== "vitals-form") {
      return; // not the vitals row (an acknowledgement: leave the focus where the nurse is)
    }
    var form = document.getElementById("vitals-form");
    var field = form && (form.querySelector(".has-error input") || form.querySelector("input[name=systolic]"));
    if (field) {
      field.focus();
    }
  });
})();
