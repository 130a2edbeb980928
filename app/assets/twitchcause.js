// twitchcause in the browser: what Dash's components cannot do by themselves. Six clientside
// callbacks (focus after an interview step, focus kept on a form answer drawn again, asking for the
// form once it is on screen, the print dialogue, a diary check-in's date, a diary file held back
// when the server could not take it) and the arrow keys, which move between a question's answers
// without choosing one. Everything shown is a Dash component built in Python.
(function () {
  "use strict";

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.twitchcause = {
    // After a person's interview step is drawn: focus the new question (or the results when done).
    focus: function (children, interview, focused) {
      if (!interview || interview.focus === (focused || 0)) return window.dash_clientside.no_update;
      window.requestAnimationFrame(function () {
        var target = document.getElementById(interview.done ? "results-heading" : "interview-question");
        if (!target) return;
        target.focus({ preventScroll: true });
        target.scrollIntoView({ block: "nearest" });
      });
      return interview.focus;
    },
    // A form answer just chosen is drawn again: it keeps the focus it had.
    refocus: function (children, answer) {
      var active = document.activeElement;
      if (!answer || (active && active !== document.body)) return;
      var button = document.querySelector(
        '[data-question="' + answer.question + '"] [data-answer="' + answer.state + '"]'
      );
      if (button) button.focus({ preventScroll: true });
    },
    // The form is drawn (on the server) the first time it is on screen.
    formWanted: function (panelClass, wanted) {
      if (wanted) return window.dash_clientside.no_update;
      return / mode-form/.test(panelClass) ? true : window.dash_clientside.no_update;
    },
    // A diary file goes to the server only if the request would pass its door (413 is silent here).
    diaryFile: function (contents, filenames, limits, stored) {
      var file = contents && contents[0];
      if (!file || !limits.length) return [window.dash_clientside.no_update, window.dash_clientside.no_update];
      var name = filenames[0] || "the file";
      if (file.length + JSON.stringify(stored || null).length > limits[0].bytes) {
        return [window.dash_clientside.no_update, limits[0].message.replace("{file}", name)];
      }
      return [{ contents: file, filename: name }, window.dash_clientside.no_update];
    },
    print: function () {
      window.print();
    },
    // A diary check-in is dated by this browser's clock (the person's own day, not the server's).
    diaryRequest: function () {
      var triggered = window.dash_clientside.callback_context.triggered;
      if (!triggered.length || !triggered[0].value) return window.dash_clientside.no_update;
      var now = new Date();
      var pad = function (n) { return (n < 10 ? "0" : "") + n; };
      return {
        action: triggered[0].prop_id.split(".")[0],
        date: now.getFullYear() + "-" + pad(now.getMonth() + 1) + "-" + pad(now.getDate()),
        click: triggered[0].value,
      };
    },
  };

  // The diary's file input (drawn by dcc.Upload, which takes no label) is named for screen readers.
  new MutationObserver(function () {
    var input = document.querySelector(".diary-upload input[type=file]:not([aria-label])");
    if (input) input.setAttribute("aria-label", "Import a diary file");
  }).observe(document.documentElement, { childList: true, subtree: true });

  // Arrow keys move within a question's answers, in the form and the interview, without choosing
  // one: Space or Enter chooses.
  var KEYS = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 };
  document.addEventListener("keydown", function (event) {
    var move = KEYS[event.key];
    var target = event.target;
    var group = move && target.closest && target.closest(".answers, .choices");
    if (!group || event.altKey || event.ctrlKey || event.metaKey) return;
    var items = Array.prototype.slice.call(group.querySelectorAll("button"));
    var at = items.indexOf(target);
    if (at < 0) return;
    event.preventDefault();
    items[(at + move + items.length) % items.length].focus();
  });
})();
