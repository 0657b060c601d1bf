"""The book's TeX macros for the PDF: MathJax reads them from ``mathjax3_config.tex.macros``; LaTeX gets the same
definitions in its preamble (``\\renewcommand`` where LaTeX already has the name, such as ``\\L``)."""

from __future__ import annotations


def _preamble(app, config):
    macros = config.mathjax3_config.get("tex", {}).get("macros", {}) if config.mathjax3_config else {}
    lines = []
    for name, body in macros.items():
        n_args = 0
        if isinstance(body, list):
            body, n_args = body
        args = f"[{n_args}]" if n_args else ""
        if not n_args and not body.startswith("\\operatorname"):
            body = "{" + body + "}"          # one group, so that \\dot\\L works as in MathJax (unicode-math accents)
        lines.append(f"\\providecommand{{\\{name}}}{{}}\\renewcommand{{\\{name}}}{args}{{{body}}}")
    elements = dict(config.latex_elements or {})
    elements["preamble"] = elements.get("preamble", "") + "\n\\usepackage{amsmath,amssymb}\n" + "\n".join(lines) + "\n"
    config.latex_elements = elements


def setup(app):
    app.connect("config-inited", _preamble, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
