"""Put back, one at a time, the 11 bugs of the 2026-12-07 reliability review that the fast tests missed,
run the test of tests/test_review_bugs.py written for each, and restore the file (issue 28, item 3).

Usage: python tools/check_review_mutants.py [ID ...]   (IDs as in the review: D06 K03 F02 ...). Every
line must say "failed": the test catches its bug. Edits the package in place, restoring it in a
`finally`; do not run it while editing those files.
"""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# (id, file, the code as it is, the bug, the test that must fail)
M = [
 ("D06", "lintheory/dynamics/sgd.py", "full_batch = b == n and not replace", "full_batch = b == n",
  "test_sgd_with_batch_size_n_and_replacement_samples_with_replacement"),
 ("K03", "lintheory/metrics/kernel.py", "    K = tangent_kernel(X, W1, W2, normalization=normalization)\n    E = Y",
  "    K = tangent_kernel(X, W1, W2)\n    E = Y", "test_loss_decay_rate_follows_the_normalization"),
 ("F02", "lintheory/theory/flat_minima.py", "float(eig[-1] / eig[0]))", "float(eig[0] / eig[-1]))",
  "test_regression_constants_kappa_is_the_condition_number"),
 ("W01", "lintheory/sweeps.py", "rel_tol=rel_tol, abs_tol=rel_tol * 1e-3)", "rel_tol=rel_tol)",
  "test_where_finds_the_zero_of_an_arange_grid"),
 ("C04", "lintheory/dynamics/compiled.py", "                if k > 0:\n                    cur = 1 - cur",
  "                if k > 1:\n                    cur = 1 - cur", "test_a_run_diverging_at_step_1_returns_its_initial_state"),
 ("D07", "lintheory/dynamics/descent.py", "            if full is not None and full is not value:\n                finite = finite & np.isfinite(full)\n",
  "", "test_sgd_declares_divergence_when_only_the_full_loss_overflows"),
 ("D10", "lintheory/dynamics/descent.py", "step_loss.normalized_grad(theta)[1]", "loss.normalized_grad(theta)[1]",
  "test_loss_normalized_sgd_below_1e_280_follows_the_minibatch"),
 ("K05", "lintheory/metrics/curvature.py", "if j % 4 == 3 or j == m - 1 or np.any(", "if j % 4 == 3 or np.any(",
  "test_sharpness_converging_at_its_last_iteration_is_not_a_failure"),
 ("D03", "lintheory/dynamics/minibatch.py", "else list(seed.spawn(count))", "else [seed] * count",
  "test_sgd_batch_members_use_the_spawned_generators"),
 ("V01", "lintheory/widgets.py", "if _is_number(v) and not np.isfinite(v):", "if _is_number(v) and np.isnan(v):",
  "test_explorer_rejects_infinite_control_values"),
 ("S03", "lintheory/sensing.py", "np.any(idx[:, 0] >= d)", "np.any(idx[:, 0] > d)",
  "test_completion_rejects_an_index_on_the_boundary"),
]
only = sys.argv[1:]
env = dict(os.environ, PYTHONPATH=str(ROOT))
for mid, path, old, new, test in M:
    if only and mid not in only:
        continue
    f = ROOT / path
    src = f.read_text()
    assert src.count(old) == 1, (mid, src.count(old))
    try:
        f.write_text(src.replace(old, new))
        out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                              f"tests/test_review_bugs.py::{test}"], cwd=ROOT, env=env,
                             capture_output=True, text=True)
        last = out.stdout.strip().splitlines()[-1]
        failed = [l.split(" - ")[0].replace("FAILED ", "") for l in out.stdout.splitlines() if l.startswith("FAILED")]
        print(mid, "rc", out.returncode, last, failed, flush=True)
    finally:
        f.write_text(src)
