/* Automatic logoff, the page's side (the server ends the session: kapcare.accounts.idle).
   - Requests the page makes by itself (htmx "load" and "every" triggers: the vitals reminder,
     lazy chart sections) carry the background header, so they keep no session alive.
   - A minute before the session ends, a warning counts down, with "Stay signed in".
   - When it ends, the sign-in page opens with ?next= this page, to come back to it. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) { return; }
  var data = script.dataset;
  var header = data.backgroundHeader;
  var idleSeconds = parseInt(data.idleSeconds, 10);
  var warningSeconds = parseInt(data.warningSeconds, 10);
  var timer = null;
  var ticker = null;
  var box = null;

  document.addEventListener("htmx:configRequest", function (event) {
    var trigger = (event.detail.elt.getAttribute("hx-trigger") || "").trim();
    if (trigger === "load" || trigger.indexOf("every ") === 0) {
      event.detail.headers[header] = "1";
    }
  });
  // Anything else htmx sends is the person's doing, which the server counts as activity.
  document.addEventListener("htmx:afterRequest", function (event) {
    var headers = event.detail.requestConfig && event.detail.requestConfig.headers;
    if (!(headers && headers[header])) { schedule(idleSeconds); }
  });

  function signInAgain() {
    var here = window.location.pathname + window.location.search;
    window.location.assign(data.loginUrl + "?next=" + encodeURIComponent(here));
  }

  function ask(asActivity) {
    var headers = {};
    if (!asActivity) { headers[header] = "1"; }
    fetch(data.statusUrl, { headers: headers, credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.json(); })
      .then(function (status) {
        if (!status.signed_in) { signInAgain(); } else { schedule(status.seconds_left); }
      })
      .catch(function () { schedule(warningSeconds); });  // offline: ask again later
  }

  function warning() {
    if (box) { return box; }
    box = document.createElement("div");
    box.id = "idle-warning";
    box.className = "idle-warning";
    box.setAttribute("role", "alertdialog");
    box.setAttribute("aria-live", "assertive");
    box.setAttribute("aria-label", "Automatic sign-out");
    box.style.cssText = "position:fixed;bottom:1rem;right:1rem;z-index:1000;max-width:24rem;" +
      "padding:1rem;background:#fff8e1;border:2px solid #b26a00;border-radius:.5rem;";
    var text = document.createElement("p");
    text.className = "idle-warning-text";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "primary";
    button.textContent = "Stay signed in";
    button.addEventListener("click", function () { ask(true); });
    box.appendChild(text);
    box.appendChild(button);
    document.body.appendChild(box);
    return box;
  }

  function hideWarning() {
    if (box) { box.remove(); box = null; }
    clearInterval(ticker);
  }

  function showWarning(secondsLeft) {
    var endsAt = Date.now() + secondsLeft * 1000;
    var text = warning().querySelector(".idle-warning-text");
    function tick() {
      var left = Math.max(0, Math.round((endsAt - Date.now()) / 1000));
      text.textContent = "No activity for a while: you will be signed out in " + left +
        " second" + (left === 1 ? "" : "s") + ".";
    }
    clearInterval(ticker);
    tick();
    ticker = setInterval(tick, 1000);
  }

  function schedule(secondsLeft) {
    clearTimeout(timer);
    if (secondsLeft > warningSeconds) {
      hideWarning();
      timer = setTimeout(function () { ask(false); }, (secondsLeft - warningSeconds) * 1000);
    } else if (secondsLeft > 0) {
      showWarning(secondsLeft);
      timer = setTimeout(function () { ask(false); }, secondsLeft * 1000 + 500);
    } else {
      signInAgain();
    }
  }

  schedule(parseInt(data.secondsLeft, 10));
}());
