// twitchcause in the browser: draws the numbers the server computes (alert, bars, interview),
// and keeps the case, the form and the address in step. The server checks every case again.
(function () {
  "use strict";

  var page = null; // page data: variables (vocabulary order), causes, examples, levels, interview settings
  var view = null; // the latest numbers from the server
  var current = {}; // the case as the store holds it
  var interview = { history: [], back: 0, skipped: [], finished: false };
  var pending = false; // an answer was sent and its numbers have not come back yet
  var userChange = false; // the next case change came from a person, so the address follows it
  var focusQuestion = false;
  var modeMarked = false;
  var intervals = null; // {cause: [low, high]} of the case drawn, or null while they are on their way

  function noUpdate() {
    return window.dash_clientside.no_update;
  }

  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  // A whole percentage that never rounds a possibility away (as app/labels.py writes it).
  function percent(p) {
    var whole = Math.round(p * 100);
    if (whole === 0 && p > 0) return "<1%";
    if (whole === 100 && p < 1) return ">99%";
    return whole + "%";
  }

  function sameCase(a, b) {
    var ka = Object.keys(a || {}),
      kb = Object.keys(b || {});
    return ka.length === kb.length && ka.every(function (k) { return a[k] === b[k]; });
  }

  function setCase(evidence) {
    current = evidence;
    userChange = true;
    window.dash_clientside.set_props("case", { data: evidence });
  }

  // -- the alert ------------------------------------------------------------------------------
  function drawAlert() {
    var alert = view.alert;
    var look = alert.level ? page.levels[alert.level] : null;
    var reasons = alert.reasons;
    var lead;
    if (reasons.length) lead = reasons[0].message;
    else if (alert.level) lead = "No warning signs among your answers so far.";
    else lead = "Answer a few questions, the warning signs first: a verdict needs answers to rest on.";
    var items = reasons
      .map(function (r) {
        return (
          '<li class="reason reason-' + esc(r.level) + '" data-rule="' + esc(r.rule) + '">' + esc(r.message) +
          ' <span class="reason-source">Source: <cite>' + esc(r.source) + "</cite>: \u201c" + esc(r.quote) +
          "\u201d</span></li>"
        );
      })
      .join("");
    var more = reasons.length > 1 ? " (and " + (reasons.length - 1) + " more)" : "";
    var details = reasons.length
      ? '<details class="reasons-details"><summary>' +
        (reasons.length > 1 ? "All " + reasons.length + " reasons and their sources" : "Its source") +
        '</summary><ul class="reasons mb-0">' + items + "</ul></details>"
      : "";
    document.getElementById("escalation").innerHTML =
      '<div id="escalation-alert" class="alert alert-' + (look ? look.colour : "secondary") +
      " escalation mb-0 level-" + esc(alert.level || "none") + '">' +
      '<h2 class="h6 alert-heading mb-1">' + esc(look ? look.heading : "No verdict yet") + "</h2>" +
      '<p class="lead-reason mb-0">' + esc(lead) + esc(more) + "</p>" + details + "</div>";
  }

  // -- the bars -------------------------------------------------------------------------------
  function intervalText(name) {
    var bounds = intervals && intervals[name];
    return bounds ? "(" + percent(bounds[0]).replace("%", "") + "\u2013" + percent(bounds[1]) + ")" : "";
  }

  function bandStyle(name) {
    var bounds = intervals && intervals[name];
    return bounds ? "left:" + bounds[0] * 100 + "%;width:" + (bounds[1] - bounds[0]) * 100 + "%" : "display:none";
  }

  function drawCauses() {
    var list = document.getElementById("causes");
    var open = {};
    list.querySelectorAll("details[open]").forEach(function (d) { open[d.parentNode.dataset.cause] = true; });
    list.innerHTML = view.causes
      .map(function (c) {
        var name = c[0], p = c[1], prior = c[2], word = c[3];
        var info = page.causes[name];
        return (
          '<li class="cause" data-cause="' + esc(name) + '"><details' + (open[name] ? " open" : "") + "><summary>" +
          '<span class="cause-name">' + esc(info.label) + "</span>" +
          '<span class="cause-value"><strong>' + percent(p) + "</strong> " + esc(word) +
          ' <span class="interval">' + intervalText(name) + "</span></span>" +
          '<span class="bar" aria-hidden="true"><span class="band" style="' + bandStyle(name) + '"></span>' +
          '<span class="fill" style="width:' + p * 100 + '%"></span>' +
          '<span class="tick" style="left:' + prior * 100 + '%"></span></span></summary>' +
          '<p class="cause-more small mb-1">' + esc(info.description) + " Before any answer: " + percent(prior) + ". " +
          '<button type="button" class="btn btn-link btn-sm p-0 align-baseline" data-why="' + esc(name) + '">Why?</button></p>' +
          "</details></li>"
        );
      })
      .join("");
    var none = page.no_clear_cause;
    document.getElementById("no-clear").innerHTML =
      "<strong>No clear cause: " + percent(view.none[0]) + "</strong> (before any answer " + percent(view.none[1]) + "). " +
      esc(none.text) + ' <span class="text-body-secondary">Source: <cite>' + esc(none.source) + "</cite></span>";
    var results = document.getElementById("results");
    results.classList.toggle("results-waiting", !(view.earned || interview.finished));
  }

  // Intervals come a moment after the bars; only those of the case on screen are drawn.
  function drawIntervalsNow() {
    document.querySelectorAll("#causes .cause").forEach(function (row) {
      var name = row.dataset.cause;
      row.querySelector(".interval").textContent = intervalText(name);
      row.querySelector(".band").setAttribute("style", bandStyle(name));
    });
  }

  // -- the full form: one group of radio buttons per question, drawn once from the page data ------
  // Answers wrap onto several lines where they are long; arrow keys move within a question.
  function choiceId(name, state) {
    return "q-" + name + "-" + (state || "unanswered");
  }

  // Drawn the first time it is on screen: a phone that answers one question at a time never pays for it.
  function drawForm() {
    var box = document.getElementById("questions");
    if (!box || box.childElementCount || !document.getElementById("form-section").offsetParent) return;
    box.innerHTML = page.groups
      .map(function (group) {
        return (
          '<fieldset id="' + esc(group.id) + '"><legend class="h6 text-primary mt-2">' + esc(group.heading) + "</legend>" +
          group.variables
            .map(function (name) {
              var v = page.variables[name];
              var choices = [["", page.not_answered]].concat(v.states).map(function (s) {
                var id = esc(choiceId(name, s[0]));
                return (
                  '<input type="radio" class="btn-check" name="q-' + esc(name) + '" id="' + id + '" value="' + esc(s[0]) +
                  '" data-question="' + esc(name) + '"' + ((current[name] || "") === s[0] ? " checked" : "") + ">" +
                  '<label class="btn btn-sm ' + (s[0] ? "btn-outline-primary" : "btn-outline-secondary") + '" for="' + id + '">' +
                  esc(s[1]) + "</label>"
                );
              });
              return (
                '<fieldset class="question mb-2" data-variable="' + esc(name) + '"><legend class="form-label small fw-semibold mb-1">' +
                esc(v.question) + (v.flag ? ' <span class="badge text-bg-danger">warning sign</span>' : "") +
                '</legend><div class="answers">' + choices.join("") + "</div></fieldset>"
              );
            })
            .join("") +
          "</fieldset>"
        );
      })
      .join("");
  }

  function syncForm() {
    Object.keys(page.variables).forEach(function (name) {
      var input = document.getElementById(choiceId(name, current[name]));
      if (input && !input.checked) input.checked = true;
    });
  }

  // -- the interview --------------------------------------------------------------------------
  // The questions Back steps through: answers from a link or the form first, then the interview's own.
  function steps() {
    var elsewhere = Object.keys(current).filter(function (n) { return interview.history.indexOf(n) < 0; });
    return elsewhere.concat(interview.history.filter(function (n) { return current[n]; }));
  }

  function questionNow() {
    if (interview.back > 0) {
      var done = steps();
      return done[done.length - interview.back];
    }
    if (interview.finished) return null;
    var stop = page.interview.stop_below_bits;
    for (var i = 0; i < view.next.length; i++) {
      var q = view.next[i];
      if (interview.skipped.indexOf(q[0]) >= 0 || current[q[0]]) continue;
      return !q[2] && q[1] < stop ? null : q[0];
    }
    return null;
  }

  function button(action, label, disabled, style) {
    return (
      '<button type="button" class="btn btn-sm ' + (style || "btn-outline-secondary") + '" data-action="' + action + '"' +
      (disabled ? " disabled" : "") + ">" + label + "</button>"
    );
  }

  function drawInterview() {
    var box = document.getElementById("interview");
    if (!box || !view) return;
    var name = questionNow();
    var answered = steps().length - interview.back;
    var nav = button("back", "Back", answered <= 0);
    if (name === null) {
      box.innerHTML =
        '<p class="fw-semibold mb-2" tabindex="-1" id="interview-question">' +
        (interview.finished ? "Your results are ready." : "That is enough to go on: another answer would change little.") +
        '</p><div class="d-flex flex-wrap gap-2">' + button("results", "See your results", false, "btn-primary") +
        button("all", "Answer more questions") + nav + "</div>";
    } else {
      var v = page.variables[name];
      var number = interview.back > 0 ? answered + 1 : Object.keys(current).length + 1;
      var usual = page.interview.usual_length;
      var choices = v.states
        .map(function (s) {
          var chosen = current[name] === s[0];
          return (
            '<button type="button" class="btn text-start ' + (chosen ? "btn-primary" : "btn-outline-primary") +
            '" data-answer="' + esc(s[0]) + '" aria-pressed="' + chosen + '"' + (pending ? " disabled" : "") + ">" +
            esc(s[1]) + "</button>"
          );
        })
        .join("");
      box.innerHTML =
        '<p class="small text-body-secondary mb-1" id="interview-progress">Question ' + number + ", usually about " + usual + "</p>" +
        '<div class="progress mb-2" aria-hidden="true"><div class="progress-bar" style="width:' +
        Math.min(100, (100 * number) / usual) + '%"></div></div>' +
        '<fieldset data-variable="' + esc(name) + '"><legend class="h6 interview-question" tabindex="-1" id="interview-question">' +
        esc(v.question) + (v.flag ? ' <span class="badge text-bg-danger">warning sign</span>' : "") + "</legend>" +
        '<div class="choices d-grid gap-2">' + choices + "</div></fieldset>" +
        '<div class="d-flex flex-wrap gap-2 mt-3">' + nav + button("skip", "Skip") + button("results", "See results now") + "</div>";
    }
    if (focusQuestion) {
      focusQuestion = false;
      var heading = document.getElementById("interview-question");
      if (heading) heading.focus({ preventScroll: true });
    }
  }

  function answer(state) {
    var name = questionNow();
    if (name === null || pending) return;
    var next = Object.assign({}, current);
    next[name] = state;
    if (interview.back > 0) interview.back -= 1;
    else {
      interview.history = interview.history.filter(function (n) { return n !== name; });
      interview.history.push(name);
    }
    pending = !sameCase(next, current);
    focusQuestion = true;
    if (pending) setCase(next);
    drawInterview();
  }

  function restartInterview() {
    interview = { history: [], back: 0, skipped: [], finished: false };
  }

  // -- how to answer: one question at a time, or all of them ----------------------------------
  function setMode(mode) {
    var panel = document.getElementById("answer-panel");
    panel.classList.remove("mode-auto", "mode-interview", "mode-form");
    panel.classList.add("mode-" + mode);
    markMode(mode);
    drawForm();
    syncForm();
  }

  function markMode(mode) {
    document.querySelectorAll("[data-mode]").forEach(function (b) {
      var on = b.dataset.mode === mode;
      b.setAttribute("aria-pressed", String(on));
      b.classList.toggle("active", on);
    });
  }

  function autoMode() {
    return window.matchMedia("(min-width: 992px)").matches ? "form" : "interview";
  }

  function showResults() {
    interview.finished = true;
    interview.back = 0;
    drawInterview();
    var results = document.getElementById("results");
    results.classList.remove("results-waiting");
    results.scrollIntoView({ block: "start" });
    document.getElementById("results-heading").setAttribute("tabindex", "-1");
    document.getElementById("results-heading").focus({ preventScroll: true });
  }

  // A screen turned or widened into the full form's width draws the form.
  window.matchMedia("(min-width: 992px)").addEventListener("change", function () {
    if (!page) return;
    drawForm();
    syncForm();
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!page) return;
    if (target.dataset.question && target.checked) {
      var next = Object.assign({}, current);
      if (target.value) next[target.dataset.question] = target.value;
      else delete next[target.dataset.question];
      setCase(next);
    } else if (target.id === "why-select") {
      window.dash_clientside.set_props("why-cause", { data: target.value });
    }
  });

  document.addEventListener("click", function (event) {
    var target = event.target.closest("button, summary");
    if (!target || !page) return;
    var d = target.dataset;
    if (d.answer !== undefined) answer(d.answer);
    else if (d.action === "back") {
      interview.back = Math.min(interview.back + 1, steps().length);
      interview.finished = false;
      focusQuestion = true;
      drawInterview();
    } else if (d.action === "skip") {
      if (interview.back > 0) interview.back -= 1;
      else interview.skipped.push(questionNow());
      focusQuestion = true;
      drawInterview();
    } else if (d.action === "results") showResults();
    else if (d.action === "all") setMode("form");
    else if (d.mode) setMode(d.mode);
    else if (d.example !== undefined) {
      restartInterview();
      setCase(Object.assign({}, page.examples[d.example]));
    } else if (target.id === "reset") {
      restartInterview();
      setCase({});
    } else if (target.id === "print-summary") window.print();
    else if (d.dismiss) document.getElementById(d.dismiss).hidden = true;
    else if (d.why) {
      document.getElementById("why-select").value = d.why;
      window.dash_clientside.set_props("why-cause", { data: d.why });
      document.getElementById("why-title").scrollIntoView({ block: "start" });
    }
  });

  // Keep focused and scrolled-to elements clear of the sticky alert, whose height changes with it.
  function keepClearOfAlert() {
    var bar = document.getElementById("status-bar");
    if (!bar) return;
    new ResizeObserver(function () {
      document.documentElement.style.scrollPaddingTop = bar.offsetHeight + 8 + "px";
    }).observe(bar);
  }

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.twitchcause = {
      // The numbers for a new case arrived: draw them.
      draw: function (numbers, pageData) {
        if (!numbers) return noUpdate();
        if (!modeMarked) {
          markMode(autoMode());
          keepClearOfAlert();
          modeMarked = true;
        }
        page = pageData;
        view = numbers;
        pending = false;
        intervals = null;
        drawForm();
        drawAlert();
        drawCauses();
        drawInterview();
        window.twitchcauseDrawn = (window.twitchcauseDrawn || 0) + 1;
        return noUpdate();
      },
      // The intervals of a case arrived: draw them if that case is still the one on screen.
      drawIntervals: function (data) {
        if (!data || !sameCase(data.case, current)) return noUpdate();
        intervals = data.interval;
        drawIntervalsNow();
        return noUpdate();
      },
      // The case changed: the address and the form follow (only the questions whose answer changed).
      syncPage: function (evidence, search, pageData) {
        page = page || pageData;
        current = evidence || {};
        drawForm();
        syncForm();
        var pairs = Object.keys(page.variables)
          .filter(function (n) { return current[n]; })
          .map(function (n) { return encodeURIComponent(n) + "=" + encodeURIComponent(current[n]); });
        var query = pairs.length ? "?" + pairs.join("&") : "";
        var write = userChange && query !== (search || "");
        userChange = false;
        return [write ? query : noUpdate(), write ? query : noUpdate()];
      },
  };
})();
