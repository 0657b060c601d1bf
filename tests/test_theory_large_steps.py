"""Unit tests of lintheory.theory.large_steps: values, shapes and argument checks."""

import numpy as np
import pytest

import lintheory as lt


def test_uv_recursion_one_step_by_hand():
    f, lam, D, eta, y = 0.3, 2.0, 1.2, 0.4, 1.0
    path = lt.theory.uv_recursion(f, lam, eta, 1, target=y, imbalance0=D)
    r = f - y
    assert path.f.shape == (2,)
    assert path.f[1] == pytest.approx(f - eta * lam * r + eta ** 2 * r ** 2 * f, rel=1e-15)
    assert path.curvature[1] == pytest.approx(lam - 4 * eta * r * f + eta ** 2 * r ** 2 * lam, rel=1e-15)
    assert path.imbalance[1] == pytest.approx((1 - eta ** 2 * r ** 2) * D, rel=1e-15)


def test_uv_recursion_broadcasts_and_marks_divergence():
    path = lt.theory.uv_recursion(0.01, 1.0, np.array([1.0, 5.0]), 200)
    assert path.curvature.shape == (201, 2)
    assert np.isfinite(path.curvature[:, 0]).all()
    assert not np.isfinite(path.curvature[-1, 1])          # eta * lambda_0 = 5 > 4


def test_uv_state_of_scalar_and_wide_networks():
    u, v = np.array([1.0, 2.0, -1.0]), np.array([0.5, 0.0, 3.0])
    s = lt.theory.uv_state([u[:, None], v[None, :]])
    assert (s.f, s.curvature, s.imbalance) == pytest.approx((u @ v, u @ u + v @ v, u @ u - v @ v))
    batch = lt.theory.uv_state([np.ones((4, 3, 1)), np.ones((4, 1, 3))])
    assert batch.f.shape == (4,)


def test_uv_init_has_the_requested_output_and_imbalance():
    p = lt.theory.uv_init(np.array([0.2, -0.5, 1.0]), np.array([4.0, -1.0, 0.0]))
    s = lt.theory.uv_state(p)
    assert np.allclose(s.f, [0.2, -0.5, 1.0]) and np.allclose(s.imbalance, [4.0, -1.0, 0.0])
    with pytest.raises(ValueError, match="f0"):
        lt.theory.uv_init(0.0, 1.0)


def test_minimizer_sharpness_and_balancing_bound_values():
    assert lt.theory.uv_minimizer_sharpness(0.0, 1.5) == pytest.approx(3.0)
    assert lt.theory.uv_minimizer_sharpness(3.0, 2.0) == pytest.approx(5.0)
    b = lt.theory.balancing_bound(np.array([0.5, 1.0, 1.5]), 1.0)
    assert b[0] == pytest.approx(2 * np.sqrt(3)) and b[1] == 0.0 and np.isnan(b[2])
    # the bound is the imbalance at which a minimizer's sharpness reaches 2 / eta
    assert lt.theory.uv_minimizer_sharpness(b[0], 1.0) == pytest.approx(2 / 0.5)


def test_catapult_thresholds_and_lazy_drop():
    crit, top = lt.theory.catapult_thresholds(np.array([1.0, 4.0]))
    assert np.allclose(crit, [2.0, 0.5]) and np.allclose(top, [4.0, 1.0])
    # eta -> 0: the gradient-flow fall 2 f0^2 / lambda0
    assert lt.theory.lazy_curvature_drop(0.1, 2.0, 1e-9) == pytest.approx(2 * 0.01 / 2.0, rel=1e-8)


def test_flow_residual_integral_against_quadrature():
    from scipy.integrate import quad
    f0, lam0, y = 0.2, 4.5, 1.0
    Q = lam0 ** 2 - 4 * f0 ** 2
    want = quad(lambda f: (y - f) / np.sqrt(Q + 4 * f * f), f0, y, epsabs=1e-13)[0]
    assert lt.theory.flow_residual_integral(f0, lam0, y) == pytest.approx(want, rel=1e-10)
    assert lt.theory.flow_residual_integral(1.5, 4.5, y) > 0          # from above the target as well


@pytest.mark.parametrize("call, match", [
    (lambda: lt.theory.flow_residual_integral(1.0, 2.0, 1.0), "curvature0"),
    (lambda: lt.theory.uv_recursion(1.0, 1.0, 0.1, 5), "curvature0"),
    (lambda: lt.theory.uv_recursion(0.1, 1.0, -0.1, 5), "step"),
    (lambda: lt.theory.uv_recursion(0.1, 1.0, 0.1, -1), "n_steps"),
    (lambda: lt.theory.balancing_bound(0.0, 1.0), "step"),
    (lambda: lt.theory.catapult_thresholds(0.0), "curvature0"),
    (lambda: lt.theory.lazy_curvature_drop(0.1, 2.0, 1.0), "lazy"),
    (lambda: lt.theory.uv_state([np.ones((3, 2)), np.ones((1, 3))]), "shapes"),
])
def test_bad_arguments_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_uv_state_needs_two_layers():
    with pytest.raises(TypeError, match="params"):
        lt.theory.uv_state(np.ones(3))
