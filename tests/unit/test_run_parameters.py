"""A run's configuration may only name the parameters its operation declares."""

from __future__ import annotations

import pytest

from operators.lock import check_run_parameters
from steward.errors import ParameterError


def test_declared_parameters_pass() -> None:
    check_run_parameters({"dry_run": True}, ["dry_run", "ready_timeout_minutes"])


def test_a_misspelled_parameter_is_refused_naming_it_and_the_declared_ones() -> None:
    with pytest.raises(ParameterError) as refused:
        check_run_parameters({"dryrun": True}, ["dry_run", "ready_timeout_minutes"])

    assert str(refused.value) == (
        "unknown parameter(s) dryrun; this operation takes dry_run, ready_timeout_minutes; "
        "trigger it again without them"
    )
