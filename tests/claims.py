"""The claims ledger's one hand-kept part: boxes of the book that no test checks numerically, and why.

Every theorem-like box of the book (label ``thm-*``, ``prop-*``, ``lem-*``, ``cor-*``, ``conj-*``) is checked by
at least one test marked ``@pytest.mark.claim("<label>", kind=..., tol=...)``, or appears here with the honest reason
it is not checked numerically. The page "Claims and their checks" is generated from both.
"""

from __future__ import annotations

UNCHECKED: dict[str, str] = {
    "conj-ch2b-gunasekar": "a conjecture, stated to show what fails: it is false in general, and the section checks a "
                           "counterexample (thm-ch2b-razin) in its cells rather than the conjecture",
    "thm-ch2b-glrl": "informal statement of Li, Luo, Lyu (2021) from the abstract; their counterexample's construction "
                     "is in the paper's text, which could not be read here",
    "thm-ch2c-nacson": "informal statement of Nacson et al. (2022) from the abstract; its step-size effect needs "
                       "non-centered data, and chapter 2c's data are centered Gaussian",
    "thm-ch2d-moroshko": "informal statement of Moroshko et al. (2020) from the abstract, whose text could not be read "
                         "here; its quantitative form for this course, conj-ch2d-transition, is tested",
}
