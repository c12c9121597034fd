"""fastmlp/schedules.py: the learning rate at a given progress, per schedule."""

import pytest

from fastmlp.schedules import learning_rate_at

def test_schedule_values():
    assert [learning_rate_at("constant", 0.1, t, 10) for t in (0, 3, 9.5)] == [0.1] * 3
    assert [learning_rate_at("step", 1.0, t, 10, 0.5, 2) for t in (0, 1.9, 2, 4.5)] == \
        [1, 1, 0.5, 0.25]
    assert learning_rate_at("exponential", 2.0, 3, 10, 0.5) == pytest.approx(0.25)
    assert learning_rate_at("exponential", 2.0, 0.5, 10, 0.25) == pytest.approx(1.0)
    assert learning_rate_at("inverse_time", 1.0, 4, 10, 0.5) == pytest.approx(1 / 3)
    assert [learning_rate_at("linear", 1.0, t, 4) for t in (0, 1, 2, 3, 4, 5)] == \
        [1, 0.75, 0.5, 0.25, 0, 0]
    with pytest.raises(ValueError, match="lr_schedule"):
        learning_rate_at("cosine", 1.0, 0, 1)
