/* lintheory: say in plain words when the browser notebooks cannot run (inserted into every app page of the
   JupyterLite site by lite/build.py, which fills in PYODIDE_URL from the installed Pyodide kernel).
   - Opened from file://: the site's modules cannot load from files; say how to serve it.
   - Offline: the Python runtime (Pyodide) comes from its CDN when a kernel starts; if it cannot be reached,
     every cell would spin at [*] with no message. Probe it once and say so instead. */
(function () {
  var PYODIDE_URL = "__PYODIDE_URL__";
  function banner(html) {
    function show() {
      if (document.getElementById("lt-lite-banner")) return;
      var div = document.createElement("div");
      div.id = "lt-lite-banner";
      div.setAttribute("role", "alert");
      div.style.cssText = "position:fixed;z-index:100000;left:0;right:0;top:0;padding:12px 44px 12px 16px;" +
        "background:#fff4ce;color:#1f1f1f;border-bottom:2px solid #c9a100;font:15px/1.45 system-ui,sans-serif;";
      div.innerHTML = html + '<button type="button" aria-label="Close" style="position:absolute;right:8px;' +
        'top:8px;width:32px;height:32px;border:0;background:none;font-size:22px;cursor:pointer">\u00d7</button>';
      div.querySelector("button").onclick = function () { div.remove(); };
      document.body.appendChild(div);
    }
    if (document.body) show(); else document.addEventListener("DOMContentLoaded", show);
  }
  if (location.protocol === "file:") {
    banner("<b>This notebook site needs a web server.</b> Opened as a file, the browser refuses to load its " +
      "parts. From the folder that holds the book, run <code>python -m http.server --directory _build/html 8000</code> " +
      "and open <code>http://localhost:8000/</code>.");
    return;
  }
  fetch(PYODIDE_URL, {method: "HEAD", mode: "no-cors", cache: "no-store"}).catch(function () {
    banner("<b>Python in the browser needs to download Pyodide</b> (the Python runtime, from " +
      new URL(PYODIDE_URL).host + "), <b>and you appear to be offline</b>: the cells of this notebook cannot run " +
      "here. You can still read it, stored outputs included. The book's pages work offline, sliders included; to " +
      "run the code without a network, use JupyterLab on your machine (the book's page \u201cRun the code\u201d).");
  });
})();
