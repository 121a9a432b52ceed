"""Hypothesis profiles and the `spec` marker.

Profiles: `ci` (the default: 200 examples of 50 steps for the stateful test),
`heavy` (for long runs), `dev` (quick), `mutation` (for mutmut). Choose
with REFLOOP_PROFILE or pytest's --hypothesis-profile.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

_common = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("ci", max_examples=200, stateful_step_count=50, **_common)
settings.register_profile(
    "heavy", max_examples=5000, stateful_step_count=100, **_common
)
settings.register_profile("dev", max_examples=30, stateful_step_count=30, **_common)
# For mutation testing (docs/mutation.md): few examples, no shrinking (a
# mutant is killed by the first failure; shrinking it only costs time) and
# no example database and derandomized, so a verdict never depends on an
# earlier run or on luck.
settings.register_profile(
    "mutation",
    max_examples=100,
    stateful_step_count=50,
    phases=[Phase.explicit, Phase.generate],
    database=None,
    derandomize=True,
    **_common,
)
settings.load_profile(os.environ.get("REFLOOP_PROFILE", "ci"))

# Every explored run in the suite, and in the subprocesses it starts (the
# pytest plugin's, refloop fuzz's), validates its trace against the model
# (spec: explore.validate).
os.environ.setdefault("REFLOOP_EXPLORE_VALIDATE", "1")
