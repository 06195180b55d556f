// C-SSRS skip logic on the form: a follow-up question (data-follows="N") is asked only after
// "Yes" (value 1) to question N. Until then its answers are cleared and disabled, so a question
// not asked is sent blank and stored as "not asked" (the server refuses an answer to it).
(function () {
  "use strict";
  function apply(form) {
    form.querySelectorAll("[data-follows]").forEach(function (question) {
      var opener = form.querySelector('input[name="item_' + question.dataset.follows + '"]:checked');
      var asked = opener !== null && opener.value === "1";
      question.classList.toggle("not-asked", !asked);
      question.querySelectorAll("input[type=radio]").forEach(function (input) {
        if (!asked) input.checked = false;
        input.disabled = !asked;
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form").forEach(function (form) {
      if (!form.querySelector("[data-follows]")) return;
      apply(form);
      form.addEventListener("change", function () { apply(form); });
    });
  });
})();
