"""Unit tests of stochastic gradient descent and of the minibatch losses it uses (Loss.subset)."""

import numpy as np
import pytest

import lintheory as lt


def _problem(n=12, d=8, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    theta = np.zeros(d)
    theta[:2] = [1.0, -0.5]
    return X, X @ theta


def _diag(d, R=None, alpha=0.4):
    lead = () if R is None else (R,)
    return lt.Diagonal(d, 2), [np.full(lead + (d,), alpha), np.zeros(lead + (d,))]


# ---------------------------------------------------------------- batch_size = n is gradient descent
@pytest.mark.parametrize("normalize", [None, "loss", "gradient"])
@pytest.mark.parametrize("batched", [False, True])
def test_full_batch_sgd_is_gradient_descent_bit_for_bit(normalize, batched):
    X, y = _problem()
    net = lt.FullyConnected([8, 5, 1]) if normalize != "loss" else lt.Diagonal(8, 3)
    loss = lt.SquaredLoss(X, y) if normalize != "loss" else lt.LogisticLoss(X, np.sign(y + 1e-3))
    p0 = net.init(0.5, seed=1, **({"batch": 3} if batched else {}))
    gd = lt.gradient_descent(net, loss, p0, 0.05, 60, record_every=7, normalize=normalize, backend="numpy")
    sgd = lt.stochastic_gradient_descent(net, loss, p0, 0.05, 60, batch_size=loss.n, seed=5,
                                         record_every=7, normalize=normalize, backend="numpy")
    assert np.array_equal(gd.t, sgd.t) and np.array_equal(gd.theta, sgd.theta)
    assert np.array_equal(gd.loss, sgd.loss)
    assert all(np.array_equal(a, b) for a, b in zip(gd.params, sgd.params))
    assert all(np.array_equal(a, b) for a, b in zip(gd.final_params, sgd.final_params))


@pytest.mark.parametrize("make", ["squared", "squared_matrix", "logistic", "sensing"])
def test_subset_of_all_samples_is_the_loss_bit_for_bit(make):
    loss, theta = _loss(make)
    sub = loss.subset(np.arange(loss.n))
    for a, b in zip(loss.value_and_grad(theta), sub.value_and_grad(theta)):
        assert np.array_equal(a, b)


# ---------------------------------------------------------------- the minibatch loss
def _loss(make, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((9, 4))
    if make == "squared":
        return lt.SquaredLoss(X, rng.standard_normal(9)), rng.standard_normal((3, 4))
    if make == "squared_matrix":
        return lt.SquaredLoss(X, rng.standard_normal((9, 2))), rng.standard_normal((3, 4, 2))
    if make == "squared_sum":
        return lt.SquaredLoss(X, rng.standard_normal(9), normalization="half_sum"), rng.standard_normal((3, 4))
    if make == "logistic":
        return lt.LogisticLoss(X, np.where(rng.random(9) < 0.5, -1.0, 1.0)), rng.standard_normal((3, 4))
    if make == "exponential":
        return lt.ExponentialLoss(X, np.where(rng.random(9) < 0.5, -1.0, 1.0)), rng.standard_normal((3, 4))
    A = rng.standard_normal((9, 3, 2))
    return lt.SensingLoss(A, rng.standard_normal(9)), rng.standard_normal((3, 3, 2))


@pytest.mark.parametrize("make", ["squared", "squared_matrix", "squared_sum", "logistic", "exponential", "sensing"])
def test_per_member_subsets_equal_separate_subsets_and_the_formula(make):
    loss, theta = _loss(make)
    idx = np.array([[0, 3, 3, 7], [1, 2, 5, 8], [8, 8, 8, 0]])      # repeats: sampling with replacement
    sub = loss.subset(idx)
    u = np.random.default_rng(4).standard_normal(theta.shape)
    value, grad = sub.value_and_grad(theta)
    for j in range(3):
        one = loss.subset(idx[j])
        assert np.allclose(value[j], one.value(theta[j]), rtol=1e-13)
        assert np.allclose(grad[j], one.grad(theta[j]), rtol=1e-13, atol=1e-14)
        assert np.allclose(sub.hvp(theta, u)[j], one.hvp(theta[j], u[j]), rtol=1e-13, atol=1e-14)
        # the formula: (n / b) * c * sum over the minibatch of the per-sample losses, from one-sample losses
        singles = [loss.subset([i]).value(theta[j]) for i in idx[j]]      # each is n * c * ell_i
        assert np.isclose(value[j], np.mean(singles), rtol=1e-13)


def test_subset_rejects_bad_indices_clearly():
    loss, _ = _loss("squared")
    for bad, match in [([], "non-empty"), ([0.5, 1.0], "integer"), ([0, 9], r"\[0, 9\)"), ([-1], r"\[0, 9\)"),
                       (np.ones((2, 0), int), "non-empty"), (3, "shape")]:
        with pytest.raises(ValueError, match=match):
            loss.subset(bad)
    with pytest.raises(ValueError, match="already a per-member subset"):
        loss.subset([[0, 1], [1, 2]]).subset([0])           # per-member minibatches
    assert np.isclose(loss.subset([2, 5]).subset([1]).value(np.ones(4)), loss.subset([5]).value(np.ones(4)))


# ---------------------------------------------------------------- reproducibility (NumPy SPEC 7)
def test_same_seed_same_run_bit_for_bit_for_int_seedsequence_and_generator():
    X, y = _problem()
    net, p0 = _diag(8)
    loss = lt.SquaredLoss(X, y)
    run = lambda seed, **kw: lt.stochastic_gradient_descent(net, loss, p0, 0.05, 300, batch_size=3,
                                                            seed=seed, record_every=50, **kw)
    for replace in (False, True):
        a, b = run(7, replace=replace), run(7, replace=replace)
        assert np.array_equal(a.theta, b.theta) and np.array_equal(a.loss, b.loss)
        assert not np.array_equal(a.theta, run(8, replace=replace).theta)
    ss = np.random.SeedSequence(11)
    assert np.array_equal(run(ss).theta, run(ss).theta)                     # a SeedSequence is a value
    assert np.array_equal(run(ss).theta, run(11).theta)
    gen = np.random.default_rng(11)
    first, second = run(gen).theta, run(gen).theta                          # a Generator is a state
    assert not np.array_equal(first, second)
    assert np.array_equal(first, run(np.random.default_rng(11)).theta)


def test_a_longer_run_extends_a_shorter_one_with_the_same_seed():
    X, y = _problem()
    net, p0 = _diag(8)
    loss = lt.SquaredLoss(X, y)
    for backend in ("numpy", "compiled"):       # bit for bit on either loop ("auto" may pick either)
        short = lt.stochastic_gradient_descent(net, loss, p0, 0.05, 300, batch_size=2, seed=3, backend=backend)
        long = lt.stochastic_gradient_descent(net, loss, p0, 0.05, 700, batch_size=2, seed=3, backend=backend)
        assert np.array_equal(short.theta, long.theta[:301])


def test_minibatches_have_the_requested_law():
    """Without replacement: b distinct samples, every sample equally often; with: repeats occur."""
    X, y = _problem(n=6, d=6)
    net, p0 = lt.Diagonal(6, 1), [np.zeros(6)]                  # depth 1: theta = v, the step is -eta * grad
    loss = lt.SquaredLoss(np.eye(6), np.ones(6))                 # grad_j = -(1 - theta_j)/b on the batch
    seen = {}
    for replace in (False, True):
        run = lt.stochastic_gradient_descent(net, loss, p0, 1e-6, 1, batch_size=4, seed=0, replace=replace)
        seen[replace] = run.theta[1]
    moved = seen[False] != 0
    assert moved.sum() == 4                                      # four distinct samples touched
    counts = np.round(seen[True] / (1e-6 / 4)).astype(int)       # multiplicities of the i.i.d. draws
    assert counts.sum() == 4
    R = 6000
    batch = lt.stochastic_gradient_descent(net, loss, [np.zeros((R, 6))], 1e-6, 1, batch_size=2, seed=1)
    frequency = (batch.theta[1] != 0).mean(axis=0)              # each sample is in a batch w.p. b/n = 1/3
    assert np.all(np.abs(frequency - 1 / 3) < 4 * np.sqrt(2 / 9 / R))


# ---------------------------------------------------------------- batching
def test_batched_members_are_the_runs_of_spawned_seeds():
    X, y = _problem()
    net, pb = _diag(8, R=4)
    loss = lt.SquaredLoss(X, y)
    batch = lt.stochastic_gradient_descent(net, loss, pb, 0.05, 80, batch_size=3, seed=21, record_every=10)
    children = np.random.SeedSequence(21).spawn(4)
    for j in range(4):
        one = lt.stochastic_gradient_descent(net, loss, [p[j] for p in pb], 0.05, 80, batch_size=3,
                                             seed=children[j], record_every=10)
        assert np.allclose(one.theta, batch.theta[:, j], rtol=1e-12, atol=1e-15)
        assert np.allclose(one.loss, batch.loss[:, j], rtol=1e-12, atol=1e-300)
    assert len({batch.theta[-1, j].tobytes() for j in range(4)}) == 4      # independent streams differ


def test_two_batch_axes_and_divergence_isolated():
    X, y = _problem()
    net = lt.Diagonal(8, 2)
    p = [np.full((2, 3, 8), 0.4), np.zeros((2, 3, 8))]
    p[0][1, 2] = 40.0                                            # this member diverges
    run = lt.stochastic_gradient_descent(net, lt.SquaredLoss(X, y), p, 0.05, 200, batch_size=4, seed=0,
                                         record_every=20)
    assert run.theta.shape == (11, 2, 3, 8) and run.loss.shape == (11, 2, 3)
    assert run.diverged.tolist() == [[False] * 3, [False, False, True]]
    assert np.all(np.isfinite(run.final_params[0])) and np.all(np.isnan(run.loss[-1, 1, 2]))
    assert np.all(run.loss[-1][~run.diverged] < run.loss[0][~run.diverged])
    single = lt.stochastic_gradient_descent(net, lt.SquaredLoss(X, y), [q[1, 2] for q in p], 0.05, 200,
                                            batch_size=4, seed=0)
    assert single.diverged and isinstance(int(single.diverged), int)
    assert np.all(np.isfinite(single.loss)) and len(single.t) == int(single.diverged)


def test_records_the_full_loss_and_reports_stats():
    X, y = _problem()
    net, p0 = _diag(8)
    loss = lt.SquaredLoss(X, y)
    run = lt.stochastic_gradient_descent(net, loss, p0, 0.05, 95, batch_size=3, seed=1, record_every=10,
                                         keep_params=False)
    assert run.params is None and run.t.tolist() == list(range(0, 91, 10)) + [95]
    assert np.allclose(run.loss, loss.value(run.theta), rtol=1e-14)
    assert run.stats == {"n_steps": 95, "n_grad": 95, "batch_size": 3, "replace": False}


# ---------------------------------------------------------------- bad input
def test_bad_input_is_rejected_naming_the_argument():
    X, y = _problem()
    net, p0 = _diag(8)
    loss = lt.SquaredLoss(X, y)
    sgd = lambda **kw: lt.stochastic_gradient_descent(**{**dict(net=net, loss=loss, params=p0, step=0.1,
                                                                n_steps=5, batch_size=2, seed=0), **kw})
    cases = [(dict(batch_size=0), ValueError, "batch_size"), (dict(batch_size=2.5), TypeError, "batch_size"),
             (dict(batch_size=13), ValueError, "at most the number of samples"),
             (dict(seed=None), TypeError, "seed"), (dict(seed=1.5), TypeError, "seed"),
             (dict(seed=-1), TypeError, "seed"), (dict(seed=np.random.RandomState(0)), TypeError, "seed"),
             (dict(seed=True), TypeError, "seed"), (dict(replace="yes"), TypeError, "replace"),
             (dict(step=-1.0), ValueError, "step"), (dict(n_steps=-2), ValueError, "n_steps"),
             (dict(record_every=0), ValueError, "record_every"), (dict(normalize="x"), ValueError, "normalize"),
             (dict(loss="squared"), TypeError, "loss"), (dict(net=None), TypeError, "net"),
             (dict(params=[np.full(8, np.nan), np.zeros(8)]), ValueError, "params")]
    for kw, err, match in cases:
        with pytest.raises(err, match=match):
            sgd(**kw)
    assert sgd(batch_size=13, replace=True).stats["batch_size"] == 13        # allowed with replacement


def test_batched_seeds_generator_spawns_and_seedsequence_is_a_value():
    X, y = _problem()
    net, pb = _diag(8, R=3)
    loss = lt.SquaredLoss(X, y)
    run = lambda seed: lt.stochastic_gradient_descent(net, loss, pb, 0.05, 40, batch_size=2, seed=seed).theta
    ss = np.random.SeedSequence(5)
    assert np.array_equal(run(ss), run(ss)) and np.array_equal(run(ss), run(5))
    assert ss.n_children_spawned == 0                                  # the caller's SeedSequence is untouched
    gen = np.random.default_rng(5)
    first = run(gen)
    assert not np.array_equal(first, run(gen))                         # spawning advances the Generator
    assert np.array_equal(first, run(np.random.default_rng(5)))


def test_completion_subset_keeps_its_entries_and_a_loss_without_subset_support_says_so():
    idx = np.array([[0, 1], [1, 2], [2, 0]])
    loss = lt.SensingLoss.completion(idx, [1.0, 2.0, 3.0], (3, 3))
    sub = loss.subset([2, 0])
    assert sub.mask_indices.tolist() == [[2, 0], [0, 1]] and sub.y.tolist() == [3.0, 1.0]
    assert np.isclose(sub.value(np.zeros((3, 3))), 0.5 * (9 + 1) / 2)

    class Plain(lt.Loss):
        X, theta_shape = np.eye(2), (2,)
        value = grad = hvp = lambda self, *a: None

    with pytest.raises(NotImplementedError, match="Plain does not support subset"):
        Plain().subset([0])
