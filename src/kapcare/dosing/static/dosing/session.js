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
  // the first field, or in the field that was refused; after a critical reading, in the
  // alert's "Action taken".
  document.addEventListener("htmx:afterSettle", function (event) {
    var config = event.detail.requestConfig;
    if (config && config.elt && config.elt.dataset && config.elt.dataset.alert) {
      // An acknowledgement: the answered alert moves below the entry row; keep it (and its
      // "Action taken", or the refusal) in view.
      var answered = document.getElementById(config.elt.dataset.alert);
      if (answered) {
        answered.scrollIntoView({ block: "nearest" });
      }
      return;
    }
    if (!config || !config.elt || config.elt.id !== "vitals-form") {
      return;
    }
    // A reading that raised a critical alert: the alert's action comes first, so show it and
    // put the cursor in its "Action taken".
    var critical = document.querySelector("#vitals-live .vital-alert.open");
    var form = document.getElementById("vitals-form");
    var refused = form && form.querySelector(".has-error input");
    if (critical && !refused) {
      critical.scrollIntoView({ block: "center" });
      var action = critical.querySelector("textarea");
      if (action) {
        action.focus({ preventScroll: true });
      }
      return;
    }
    var field = refused || (form && form.querySelector("input[name=systolic]"));
    if (field) {
      field.focus();
    }
  });
})();
