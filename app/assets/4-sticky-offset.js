// Keep focused and scrolled-to elements clear of the sticky alert bar, whose height
// changes with the alert: keyboard users must never land on a control hidden behind it.
(function () {
  function watch() {
    var bar = document.getElementById("status-bar");
    if (!bar) {
      window.setTimeout(watch, 100);
      return;
    }
    new ResizeObserver(function () {
      document.documentElement.style.scrollPaddingTop = bar.offsetHeight + 8 + "px";
    }).observe(bar);
  }
  watch();
})();
