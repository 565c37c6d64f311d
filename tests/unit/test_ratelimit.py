import pytest

from appliance.services.errors import RateLimitedError
from appliance.services.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_allows_count_then_refuses_with_retry_after():
    clock = Clock()
    limiter = RateLimiter(3, 60, clock=clock)
    for _ in range(3):
        limiter.hit("a")
    clock.now += 10
    with pytest.raises(RateLimitedError) as caught:
        limiter.hit("a")
    assert caught.value.retry_after == pytest.approx(50)
    limiter.hit("b")  # other keys are independent


def test_window_slides():
    clock = Clock()
    limiter = RateLimiter(2, 10, clock=clock)
    limiter.hit("a")
    clock.now += 6
    limiter.hit("a")
    clock.now += 5  # the first hit is now out of the window
    limiter.hit("a")
    with pytest.raises(RateLimitedError):
        limiter.check("a")


def test_reset_forgets_a_key():
    limiter = RateLimiter(1, 60)
    limiter.hit("a")
    limiter.reset("a")
    limiter.hit("a")


def test_memory_is_bounded_and_stale_keys_are_swept():
    clock = Clock()
    limiter = RateLimiter(5, 10, max_keys=100, clock=clock)
    for n in range(1000):
        limiter.hit(f"k{n}")
    assert len(limiter) <= 100
    clock.now += 11
    for n in range(20):
        limiter.hit(f"new{n}")
    assert len(limiter) < 100
