// The widget manager (@jupyter-widgets/html-manager 1.0) typesets widget labels with the MathJax 2
// call MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]); the book loads MathJax 3. Forward the
// call to MathJax 3's typesetPromise, on whatever object window.MathJax holds at the time.
(function () {
  var hub = {
    Queue: function (job) {
      var element = job && job[2];
      var mj = window.MathJax;
      if (element && mj && typeof mj.typesetPromise === "function") {
        mj.typesetPromise([element]).catch(function () {});
      }
    }
  };
  var current = window.MathJax;
  function withHub(value) {
    if (value && typeof value === "object" && !value.Hub) {
      Object.defineProperty(value, "Hub", { value: hub, enumerable: false, configurable: true });
    }
    return value;
  }
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    get: function () { return current; },
    set: function (value) { current = withHub(value); }
  });
  withHub(current);
})();
