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

// The esketamine device countdown: the label's 5 minutes since the last device, counted down
// each second from the server's clock (the page says when it rendered), so a tablet whose
// clock is off still counts right. The button waits with it; the server refuses early ones
// anyway.
(function () {
  "use strict";

  function start() {
    var wait = document.getElementById("device-wait");
    if (!wait) {
      return;
    }
    var offsetMs = Date.parse(wait.dataset.now) - Date.now();
    var readyAt = Date.parse(wait.dataset.readyAt);
    var countdown = wait.querySelector(".countdown");
    var buttons = document.querySelectorAll("[data-wait-button]");
    function tick() {
      var left = Math.ceil((readyAt - (Date.now() + offsetMs)) / 1000);
      if (left <= 0) {
        countdown.textContent = countdown.dataset.readyText;
        wait.classList.add("ready");
        buttons.forEach(function (button) { button.disabled = false; });
        return;
      }
      var minutes = Math.floor(left / 60);
      var seconds = left % 60;
      countdown.textContent = "wait " + minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
      buttons.forEach(function (button) { button.disabled = true; });
      window.setTimeout(tick, 1000);
    }
    tick();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
