// lintheory: small reader-experience fixes for the built book (no network, no dependencies).
// Loaded as a plain script in <head>, so its DOMContentLoaded work runs before the theme's deferred scripts.
(function () {
  "use strict";
  var root = document.documentElement.dataset.content_root || "";
  var touch = window.matchMedia && window.matchMedia("(hover: none), (pointer: coarse)").matches;
  var lastPointer = touch ? "touch" : "mouse";       // the kind of the latest pointer press, for clicks
  document.addEventListener("pointerdown", function (e) { lastPointer = e.pointerType || lastPointer; }, true);

  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }

  // ------------------------------------------------ tooltips: none on touch screens, and never left behind
  ready(function () {
    if (touch) {
      document.querySelectorAll('[data-bs-toggle="tooltip"]').forEach(function (el) {
        el.removeAttribute("data-bs-toggle");
      });
    }
    document.addEventListener("click", function () {
      document.querySelectorAll(".tooltip.show").forEach(function (t) { t.remove(); });
    }, true);
  });

  // ------------------------------------------------ the widget manager: fetched once a widget comes near
  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = src; s.onload = resolve; s.onerror = reject;
      document.head.appendChild(s);
    });
  }
  var widgetsRequested = false;
  function loadWidgets() {
    if (widgetsRequested) return;
    widgetsRequested = true;
    document.documentElement.classList.add("lt-widgets-loading");
    loadScript(root + "_static/requirejs/require.js")
      .then(function () { return loadScript(root + "_static/@jupyter-widgets/html-manager/dist/embed-amd.js"); })
      .then(function () { document.documentElement.classList.add("lt-widgets-loaded"); });
  }
  window.lintheoryLoadWidgets = loadWidgets;
  ready(function () {
    var views = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]');
    if (!views.length) return;
    if (!("IntersectionObserver" in window)) { loadWidgets(); return; }
    var io = new IntersectionObserver(function (entries) {
      if (entries.some(function (e) { return e.isIntersecting; })) { io.disconnect(); loadWidgets(); }
    }, {rootMargin: "600px 0px"});
    views.forEach(function (v) { io.observe(v.parentElement); });
    // a reader who starts to use the page (keyboard, print) gets the widgets without scrolling to them
    window.addEventListener("beforeprint", loadWidgets);
  });

  // ------------------------------------------------ widget frames: their tooltip is their alt text
  var widgetAlts = null;
  function altFromTitle(scope) {
    if (widgetAlts === null) {
      var table = document.getElementById("lt-widget-alts");
      widgetAlts = table ? JSON.parse(table.textContent) : [];
    }
    (scope || document).querySelectorAll('.cell_output img[class*="lt-alt-"]').forEach(function (img) {
      var m = /lt-alt-(\d+)/.exec(img.className);
      if (m && widgetAlts[+m[1]] && img.getAttribute("alt") !== widgetAlts[+m[1]]) {
        img.setAttribute("alt", widgetAlts[+m[1]]);
        img.setAttribute("title", widgetAlts[+m[1]]);
      }
    });
    (scope || document).querySelectorAll(".cell_output img[title]").forEach(function (img) {
      if (!img.getAttribute("alt")) img.setAttribute("alt", img.getAttribute("title"));
    });
  }
  ready(function () {
    altFromTitle();
    new MutationObserver(function (records) {
      records.forEach(function (r) {
        if (r.type === "attributes") {
          var img = r.target;
          if (img.tagName === "IMG" && img.parentNode) altFromTitle(img.parentNode);
        } else {
          r.addedNodes.forEach(function (n) {
            if (!n.querySelectorAll) return;
            altFromTitle(n.parentNode || n);
            // the widget is drawn: its static first frame goes (html-manager 1.0 means to remove it, but
            // compares tagName with "img" in lower case, so it never does)
            if (n.classList && n.classList.contains("widget-subarea") && n.parentNode) {
              n.parentNode.querySelectorAll("img.lt-widget-fallback").forEach(function (f) { f.remove(); });
            }
          });
        }
      });
    }, {subtree: true, childList: true, attributes: true, attributeFilter: ["title", "class"]})
      .observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ["title", "class"]});
  });

  // ------------------------------------------------ figures: a tap opens the full-size image
  ready(function () {
    document.querySelectorAll(".cell_output img, figure img").forEach(function (img) {
      if (img.closest(".widget-subarea") || img.classList.contains("jupyter-widget")) return;
      var link = img.closest("a");
      if (link) { link.classList.add("lt-zoom"); link.title = link.title || "Open the full-size figure"; return; }
      if (!img.getAttribute("src") || img.getAttribute("src").indexOf("data:") === 0) return;
      var a = document.createElement("a");
      a.href = img.getAttribute("src");
      a.className = "lt-zoom";
      a.title = "Open the full-size figure";
      img.parentNode.insertBefore(a, img);
      a.appendChild(img);
    });
  });

  // ------------------------------------------------ math wider than its column: scrolls, and says so
  function markScrollers() {
    document.querySelectorAll("span.math, div.math mjx-container, .lt-scroll-x").forEach(function (el) {
      // wider than the column it sits in (not a few pixels of a superscript's overhang)
      var column = el.tagName === "SPAN" ? el.parentElement.clientWidth : el.clientWidth;
      el.classList.toggle("lt-scrolls", el.scrollWidth > el.clientWidth + 4 && el.getBoundingClientRect().width >= column - 4);
    });
  }
  window.lintheoryMarkScrollers = markScrollers;
  ready(function () {
    var wait = function () {
      if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
        MathJax.startup.promise.then(markScrollers);
      } else { setTimeout(wait, 100); }
    };
    wait();
    var later = function () { clearTimeout(markScrollers.t); markScrollers.t = setTimeout(markScrollers, 150); };
    window.addEventListener("resize", later);
    document.addEventListener("click", later);       // a solution or a dropdown opened: its math is measured now
    document.addEventListener("toggle", later, true);
  });

  // ------------------------------------------------ citations: a preview on hover, and on the first tap
  ready(function () {
    var pop = null, owner = null, hideTimer = null;
    function hide() { if (pop) { pop.remove(); pop = null; owner = null; } }
    function show(a) {
      clearTimeout(hideTimer);
      if (owner === a) return;
      hide();
      owner = a;
      pop = document.createElement("div");
      pop.className = "lt-cite-pop";
      pop.setAttribute("role", "tooltip");
      var text = document.createElement("div");
      text.textContent = a.dataset.ltRef;
      var go = document.createElement("a");
      go.href = a.getAttribute("href");
      go.textContent = "In the bibliography \u2192";
      pop.appendChild(text); pop.appendChild(go);
      document.body.appendChild(pop);
      var r = a.getBoundingClientRect(), w = Math.min(360, document.documentElement.clientWidth - 16);
      pop.style.width = w + "px";
      var left = Math.min(Math.max(8, r.left + window.scrollX), window.scrollX + document.documentElement.clientWidth - w - 8);
      pop.style.left = left + "px";
      pop.style.top = (r.bottom + window.scrollY + 6) + "px";
      pop.addEventListener("mouseenter", function () { clearTimeout(hideTimer); });
      pop.addEventListener("mouseleave", function () { hideTimer = setTimeout(hide, 200); });
    }
    document.querySelectorAll('.bibtex-citation a[title], a.reference[href*="references.html#"][title]').forEach(function (a) {
      a.dataset.ltRef = a.getAttribute("title");
      a.removeAttribute("title");
      a.classList.add("lt-cite");
      a.addEventListener("mouseenter", function () { if (lastPointer !== "touch") show(a); });
      a.addEventListener("mouseleave", function () { hideTimer = setTimeout(hide, 250); });
      a.addEventListener("focus", function () { if (lastPointer !== "touch") show(a); });   // a tap focuses too
      a.addEventListener("blur", function () { hideTimer = setTimeout(hide, 250); });
      a.addEventListener("click", function (e) {
        if (lastPointer === "touch" && owner !== a) { e.preventDefault(); show(a); }
      });
    });
    // a textual citation ("Min et al. [2021]") is one target: a tap on the names acts on its link
    document.querySelectorAll(".bibtex-citation").forEach(function (span) {
      var links = span.querySelectorAll("a.lt-cite");
      if (links.length !== 1) return;
      span.classList.add("lt-cite-span");
      span.addEventListener("click", function (e) {
        if (e.target.closest("a")) return;
        links[0].click();
      });
    });
    document.addEventListener("click", function (e) {
      if (pop && !pop.contains(e.target) && !(owner && owner.contains(e.target))) hide();
    });
    document.addEventListener("keydown", function (e) { if (e.key === "Escape") hide(); });
  });

  // ------------------------------------------------ search results: summaries without raw TeX
  var TEX = {alpha: "\u03b1", beta: "\u03b2", gamma: "\u03b3", delta: "\u03b4", epsilon: "\u03b5", varepsilon: "\u03b5",
    eta: "\u03b7", theta: "\u03b8", kappa: "\u03ba", lambda: "\u03bb", mu: "\u03bc", nu: "\u03bd", xi: "\u03be",
    pi: "\u03c0", rho: "\u03c1", sigma: "\u03c3", tau: "\u03c4", phi: "\u03c6", varphi: "\u03c6", chi: "\u03c7",
    psi: "\u03c8", omega: "\u03c9", Gamma: "\u0393", Delta: "\u0394", Theta: "\u0398", Lambda: "\u039b",
    Sigma: "\u03a3", Phi: "\u03a6", Psi: "\u03a8", Omega: "\u03a9", ell: "\u2113", infty: "\u221e",
    le: "\u2264", leq: "\u2264", ge: "\u2265", geq: "\u2265", ne: "\u2260", neq: "\u2260", approx: "\u2248",
    to: "\u2192", rightarrow: "\u2192", top: "\u22a4", cdot: "\u00b7", times: "\u00d7", in: "\u2208",
    sum: "\u2211", prod: "\u220f", int: "\u222b", partial: "\u2202", nabla: "\u2207", sqrt: "\u221a",
    R: "\u211d", E: "\ud835\udd3c", L: "\u2112", pm: "\u00b1", min: "min", max: "max", log: "log", exp: "exp"};
  function texToText(s) {
    return s.replace(/\\[()[\]]/g, "")
      .replace(/\\([A-Za-z]+)/g, function (m, w) { return TEX.hasOwnProperty(w) ? TEX[w] : ""; })
      .replace(/\\./g, "").replace(/[{}_^]/g, "").replace(/\s+/g, " ");
  }
  window.lintheoryTexToText = texToText;
  ready(function () {
    if (typeof Search === "undefined" || !Search.htmlToText) return;
    var original = Search.htmlToText;
    Search.htmlToText = function (htmlString, anchor) {
      var doc = new DOMParser().parseFromString(htmlString, "text/html");
      doc.querySelectorAll(".math").forEach(function (m) { m.textContent = texToText(m.textContent); });
      doc.querySelectorAll('script[type^="application/vnd.jupyter"]').forEach(function (s) { s.remove(); });
      return original(doc.documentElement.outerHTML, anchor);
    };
  });
  // ------------------------------------------------ "Run in the browser" from file://: explain, do not open a blank tab
  ready(function () {
    if (location.protocol !== "file:") return;
    document.querySelectorAll("a.btn-launch-lite").forEach(function (a) {
      a.addEventListener("click", function (e) {
        e.preventDefault();
        var box = document.getElementById("lt-lite-file");
        if (!box) {
          box = document.createElement("div");
          box.id = "lt-lite-file";
          box.setAttribute("role", "alert");
          box.className = "admonition note";
          box.innerHTML = "<p class=\"admonition-title\">Run in the browser needs a web server</p>" +
            "<p>This page was opened as a file, and the browser notebooks cannot load from files. From the folder " +
            "that holds the book, run <code>python -m http.server --directory _build/html 8000</code>, open " +
            "<code>http://localhost:8000/</code> and press the button there.</p>";
          var article = document.querySelector(".bd-article") || document.body;
          article.insertBefore(box, article.firstChild);
        }
        box.scrollIntoView({block: "start"});
      });
    });
  });
})();
