"""Hypothesis profiles and the `spec` marker.

Profiles: `ci` (the default: 200 examples of 50 steps for the stateful test),
`heavy` (for long runs), `dev` (quick). Choose with REFLOOP_PROFILE or
pytest's --hypothesis-profile.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_common = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("ci", max_examples=200, stateful_step_count=50, **_common)
settings.register_profile(
    "heavy", max_examples=5000, stateful_step_count=100, **_common
)
settings.register_profile("dev", max_examples=30, stateful_step_count=30, **_common)
settings.load_profile(os.environ.get("REFLOOP_PROFILE", "ci"))
