"""fgrad.debug_nans: the first primitive that produces a NaN raises FloatingPointError
naming the primitive, the pass and the user's line (docs/design.md, "Debugging NaN").

Each test first shows (without debugging) that the function really gives NaN, so the
error it expects under debugging is not an accident of the input.
"""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp
from fgrad.autodiff import ForwardTrace, ReverseTrace
from fgrad.batching import BatchTrace


def _line(fun, offset=1):
    """``file:line`` of the line ``offset`` lines below ``fun``'s ``def``."""
    return f"{__file__}:{fun.__code__.co_firstlineno + offset}"


def _raises(call):
    with pytest.raises(FloatingPointError) as info:
        call()
    return str(info.value)


@pytest.fixture(autouse=True)
def _debugging_off_after():
    yield
    fgrad.debug_nans(False)  # a failing test must not leave it on for the others


# --------------------------------------------------------------------------
# forward pass
# --------------------------------------------------------------------------


def log_of(x):
    return fnp.sum(fnp.log(x) * 2.0)


def test_forward_nan_names_the_primitive_the_pass_and_the_line():
    x = np.array([1.0, -1.0, 2.0])
    assert np.isnan(log_of(x))  # off: numpy's nan, no error
    fgrad.grad(log_of)(x)
    with fgrad.debug_nans():
        msg = _raises(lambda: fgrad.grad(log_of)(x))
    assert "'log'" in msg and "forward pass" in msg
    assert _line(log_of) in msg
    assert "fnp.log(x)" in msg  # the source line itself
    assert "(3,)" in msg  # the operand's shape
    assert "made" in msg  # no operand held NaN: this operation made it


def test_numpy_code_dispatched_to_fgrad_is_checked_too():
    def f(x):
        return np.sum(np.log(x))

    x = np.array([-1.0, 2.0])
    with fgrad.debug_nans():
        msg = _raises(lambda: fgrad.grad(f)(x))
    assert "'log'" in msg and _line(f) in msg


def test_inf_is_not_nan():
    with fgrad.debug_nans():
        value, g = fgrad.value_and_grad(fnp.log)(0.0)
    assert value == -np.inf and g == np.inf


def test_integer_and_boolean_results_are_not_checked_and_do_not_break():
    def f(x):
        n = fnp.argmax(x)  # an int result
        mask = x > 0  # a bool result
        return fnp.sum(fnp.where(mask, x, 0.0)) * n

    x = np.array([1.0, -2.0, 3.0])
    with fgrad.debug_nans():
        got = fgrad.grad(f)(x)
    np.testing.assert_allclose(got, [2.0, 0.0, 2.0])


def test_a_nan_given_as_input_is_reported_at_the_first_operation_passing_it_on():
    def f(x):
        return fnp.sin(x) * 2.0

    with fgrad.debug_nans():
        msg = _raises(lambda: fgrad.grad(f)(np.nan))
    assert "'sin'" in msg and _line(f) in msg
    assert "operand 0 already held NaN" in msg


def test_complex_nan_in_either_part_is_caught():
    from fgrad.core import has_nan

    assert has_nan(np.array([1.0 + 1j * np.nan]))
    assert has_nan(np.complex64(complex(np.nan, 0.0)))
    assert not has_nan(np.array([complex(np.inf, -np.inf)]))
    assert not has_nan(np.arange(3)) and not has_nan(np.array([True]))

    def f(z):  # (1 + 0j) * (inf + 0j) is inf + nan*1j in numpy: NaN in the imaginary part
        return z * complex(np.inf, 0.0)

    out = f(np.complex128(1.0))
    assert np.isinf(out.real) and np.isnan(out.imag)
    with fgrad.debug_nans():
        msg = _raises(lambda: fgrad.vjp(f, np.complex128(1.0)))
    assert "'multiply'" in msg and _line(f) in msg


# --------------------------------------------------------------------------
# backward pass
# --------------------------------------------------------------------------


def double_where(x):
    y = fnp.sqrt(x)
    return fnp.sum(fnp.where(x > 0, y, 0.0))


def test_backward_only_nan_names_the_vjp_and_the_forward_line():
    x = np.array([0.0, 4.0])
    assert double_where(x) == 2.0  # the forward pass is clean ...
    assert np.isnan(fgrad.grad(double_where)(x)[0])  # ... the gradient is not
    with fgrad.debug_nans():
        msg = _raises(lambda: fgrad.grad(double_where)(x))
    assert "'sqrt'" in msg and "backward pass" in msg and "vjp of 'sqrt'" in msg
    assert _line(double_where) in msg  # where sqrt was called, not the grad call
    assert "y = fnp.sqrt(x)" in msg


def test_backward_nan_of_inf_times_zero():
    def f(x):
        return fnp.sqrt(x) * 0.0

    assert np.isnan(fgrad.grad(f)(0.0))
    with fgrad.debug_nans():
        msg = _raises(lambda: fgrad.grad(f)(0.0))
    assert "vjp of 'sqrt'" in msg and _line(f) in msg


def test_vjp_function_called_after_the_block_checks_only_when_on():
    with fgrad.debug_nans():
        _, f_vjp = fgrad.vjp(lambda x: fnp.sqrt(x) * 0.0, 0.0)
        msg = _raises(lambda: f_vjp(1.0))
    assert "vjp of 'sqrt'" in msg
    assert np.isnan(f_vjp(1.0))  # off again: numpy's nan


def test_a_tape_recorded_while_off_is_checked_without_lines():
    # recorded with debugging off: the NaN input passes the forward pass unchecked
    _, f_vjp = fgrad.vjp(lambda x: fnp.sin(x) * 2.0, np.nan)
    with fgrad.debug_nans():
        msg = _raises(lambda: f_vjp(1.0))
    assert "vjp of 'sin'" in msg and "not known" in msg
    assert "a value saved from the forward pass for the rule already held NaN" in msg


def test_nan_made_by_summing_cotangents_is_reported_at_the_operation_receiving_it():
    # y = sin(0) = 0 has two uses whose cotangents are +inf and -inf: their sum is NaN
    def f(x):
        y = fnp.sin(x)
        return fnp.sqrt(y) - fnp.sqrt(y)

    assert f(0.0) == 0.0 and np.isnan(fgrad.grad(f)(0.0))
    with fgrad.debug_nans():
        msg = _raises(lambda: fgrad.grad(f)(0.0))
    assert "vjp of 'sin'" in msg
    assert "cotangent" in msg and "already held NaN" in msg


# --------------------------------------------------------------------------
# forward mode, vmap, custom rules, checkpoint, higher order
# --------------------------------------------------------------------------


def test_forward_mode_tangent_nan():
    def f(x):
        return fnp.sqrt(x)

    y, t = fgrad.jvp(f, (0.0,), (0.0,))
    assert y == 0.0 and np.isnan(t)
    with fgrad.debug_nans():
        msg = _raises(lambda: fgrad.jvp(f, (0.0,), (0.0,)))
    assert "'sqrt'" in msg and "tangent" in msg and "jvp of 'sqrt'" in msg
    assert _line(f) in msg


def test_inside_vmap_names_the_examples():
    def f(x):
        return fnp.log(x)

    xs = np.array([1.0, -1.0, 2.0, -3.0])
    with fgrad.debug_nans():
        msg = _raises(lambda: fgrad.vmap(f)(xs))
    assert "'log'" in msg and "vmap" in msg and "examples [1, 3] of 4" in msg
    assert _line(f) in msg


def test_backward_pass_inside_vmap():
    per_example = fgrad.grad(lambda x: fnp.where(x > 0, fnp.sqrt(x), 0.0))
    xs = np.array([1.0, 0.0, 4.0])
    assert np.isnan(fgrad.vmap(per_example)(xs)[1])
    with fgrad.debug_nans():
        msg = _raises(lambda: fgrad.vmap(per_example)(xs))
    assert "vjp of 'sqrt'" in msg and "examples [1] of 3" in msg


def test_inside_a_custom_vjp_bwd_names_the_custom_function():
    @fgrad.custom_vjp
    def shifted_log(x):
        return fnp.log(x + 2.0)

    def fwd(x):
        return shifted_log(x), x

    def bwd(x, g):
        return (g * fnp.log(x),)  # wrong on purpose: NaN for x < 0

    shifted_log.defvjp(fwd, bwd)

    def f(x):
        return shifted_log(x) * 3.0

    assert np.isfinite(f(-1.0)) and np.isnan(fgrad.grad(f)(-1.0))
    with fgrad.debug_nans():
        msg = _raises(lambda: fgrad.grad(f)(-1.0))
    assert "custom_vjp[shifted_log]" in msg and "backward pass" in msg
    assert _line(f) in msg  # where the custom function was called


def test_custom_jvp_rule_tangent_nan():
    @fgrad.custom_jvp
    def root(x):
        return fnp.sqrt(x)

    @root.defjvp
    def root_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return root(x), t * 0.5 / root(x)

    with fgrad.debug_nans():
        msg = _raises(lambda: fgrad.jvp(root, (0.0,), (0.0,)))
    assert "custom_jvp[root]" in msg and "tangent" in msg


def test_checkpoint_forward_and_recomputation():
    def raw(x):
        return fnp.where(x > 0, fnp.sqrt(x), 0.0)

    block = fgrad.checkpoint(raw)

    def f(x):
        return fnp.sum(block(x))

    x = np.array([0.0, 1.0])
    assert np.isnan(fgrad.grad(f)(x)[0])
    with fgrad.debug_nans():
        msg = _raises(lambda: fgrad.grad(f)(x))
    assert "vjp of 'sqrt'" in msg and _line(raw) in msg  # found in the recomputation
    assert "vjp of 'checkpoint(raw)'" in msg

    def raw_logs(x):
        return fnp.log(x)

    logs = fgrad.checkpoint(raw_logs)

    with fgrad.debug_nans():
        msg = _raises(lambda: fgrad.grad(lambda x: fnp.sum(logs(x)))(-x - 1.0))
    assert "'log'" in msg and "forward pass" in msg and _line(raw_logs) in msg


def test_nested_grad_hessian():
    # hessian is jacfwd(jacrev(f)): d2f/dx0^2 is NaN at x0 = 0 (the gradient is, see
    # above); the mixed entries are 0, since jacfwd's unit tangents are a structured
    # batch whose zeros stay zeros where sqrt's derivative is inf
    x = np.array([0.0, 1.0])
    H = fgrad.hessian(double_where)(x)
    assert np.isnan(H[0, 0]) and H[0, 1] == H[1, 0] == 0.0 and H[1, 1] == -0.25
    with fgrad.debug_nans():
        msg = _raises(lambda: fgrad.hessian(double_where)(x))
    assert "forward mode's step" in msg and "under vmap" in msg
    assert _line(double_where) in msg


def test_nested_grad_hessian_dense_unit_tangents(monkeypatch):
    # with the dense identity as the unit tangents, forward mode's tangent of sqrt at 0
    # (0 * inf for the unit tangent that is 0 there) is NaN before any backward pass runs
    monkeypatch.setattr(fgrad.api, "_STRUCTURED_BASIS", False)
    x = np.array([0.0, 1.0])
    assert np.isnan(fgrad.hessian(double_where)(x)).any()
    with fgrad.debug_nans():
        msg = _raises(lambda: fgrad.hessian(double_where)(x))
    assert "forward mode's step for 'sqrt'" in msg and "under vmap" in msg
    assert _line(double_where) in msg


def test_second_order_only_nan_points_at_the_forward_line():
    # d/dx |x|**1.5 = 1.5 |x|**0.5 sign(x) is 0 at 0; its derivative's rule multiplies
    # |x|**-0.5 = inf by sign(0) = 0
    def f(x):
        return fnp.abs(x) ** 1.5

    assert fgrad.grad(f)(0.0) == 0.0
    assert np.isnan(fgrad.grad(fgrad.grad(f))(0.0))
    with fgrad.debug_nans():
        msg = _raises(lambda: fgrad.grad(fgrad.grad(f))(0.0))
    assert "backward pass" in msg and _line(f) in msg


# --------------------------------------------------------------------------
# the switch
# --------------------------------------------------------------------------


def test_off_by_default_and_the_hot_path_is_the_plain_one():
    plain = {cls: dict(cls.__dict__) for cls in (ForwardTrace, ReverseTrace, BatchTrace)}
    assert np.isnan(fgrad.grad(double_where)(np.array([0.0]))[0])  # no error
    with fgrad.debug_nans():
        assert ReverseTrace.process is not plain[ReverseTrace]["process"]
        assert ReverseTrace.backward is not plain[ReverseTrace]["backward"]
        assert ForwardTrace.process is not plain[ForwardTrace]["process"]
        assert BatchTrace.process is not plain[BatchTrace]["process"]
    for cls, attrs in plain.items():  # off again: exactly the plain methods
        for name in ("process", "backward"):
            if name in attrs:
                assert cls.__dict__[name] is attrs[name]


def test_the_block_restores_the_previous_state_on_an_exception():
    with pytest.raises(ZeroDivisionError):
        with fgrad.debug_nans():
            1 / 0
    assert np.isnan(fgrad.grad(double_where)(np.array([0.0]))[0])  # off again
    with pytest.raises(FloatingPointError):
        with fgrad.debug_nans():
            fgrad.grad(double_where)(np.array([0.0]))
    assert np.isnan(fgrad.grad(double_where)(np.array([0.0]))[0])


def test_global_switch_and_nested_blocks():
    fgrad.debug_nans(True)
    try:
        _raises(lambda: fgrad.grad(double_where)(np.array([0.0])))
        with fgrad.debug_nans(False):  # off inside, on again after
            assert np.isnan(fgrad.grad(double_where)(np.array([0.0]))[0])
        _raises(lambda: fgrad.grad(double_where)(np.array([0.0])))
    finally:
        fgrad.debug_nans(False)
    assert np.isnan(fgrad.grad(double_where)(np.array([0.0]))[0])


def test_bad_switch_value_is_refused():
    with pytest.raises(TypeError, match="True or False"):
        fgrad.debug_nans("yes")


def test_environment_variable_turns_it_on():
    code = ("import fgrad, fgrad.numpy as fnp\n"
            "try:\n    fgrad.grad(fnp.log)(-1.0)\n"
            "except FloatingPointError as e:\n    print('raised', 'log' in str(e))\n")
    env = dict(os.environ, FGRAD_DEBUG_NANS="1")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "raised True"
    env["FGRAD_DEBUG_NANS"] = "maybe"
    bad = subprocess.run([sys.executable, "-c", "import fgrad"], env=env,
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "FGRAD_DEBUG_NANS" in bad.stderr


def test_threads_see_the_process_wide_switch():
    results = []

    def work():
        try:
            fgrad.grad(double_where)(np.array([0.0]))
            results.append("no error")
        except FloatingPointError:
            results.append("raised")

    with fgrad.debug_nans():
        t = threading.Thread(target=work)
        t.start()
        t.join()
    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert results == ["raised", "no error"]


def test_checking_keeps_the_backward_pass_freeing_memory(peak_bytes):
    # the checked backward pass frees each entry's values as the plain one does (a
    # frame kept alive by the checking code once held all of them to the end)
    def chain(x):
        for _ in range(10):
            x = fnp.tanh(fnp.sin(x) * 1.5 + 0.25)
        return fnp.sum(x)

    x = np.random.default_rng(0).uniform(-1.0, 1.0, 40_000)
    g = fgrad.grad(chain)
    plain = peak_bytes(lambda: g(x))
    with fgrad.debug_nans():
        checked = peak_bytes(lambda: g(x))
    assert checked <= plain + 2 * x.nbytes, (checked, plain)


def test_indexing_under_debug_nans_gives_the_gradient():
    # the backward pass of x[i] on plain values read the trace's own tape, which NaN
    # debugging empties as it plays its checked copy: a TypeError from inside fgrad
    x = np.array([1.0, 2.0, 3.0])

    def f(w):
        return fnp.sum(fnp.stack([x[0] * w, x[2] * w])[1] * w) + (x * w)[1]

    want = fgrad.grad(f)(2.0)
    with fgrad.debug_nans():
        assert fgrad.grad(f)(2.0) == want
        g = fgrad.grad(lambda v: fnp.sum(v[0] * v[1:] ** 2))(x)
    np.testing.assert_allclose(g, fgrad.grad(lambda v: fnp.sum(v[0] * v[1:] ** 2))(x))
