import pytest

from appliance.config import LimitSettings, RateLimit
from appliance.services.errors import RateLimitedError
from appliance.services.ratelimit import Limits, MemoryLimiters, RateLimiter
from tests.support.clock import ManualClock


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


async def test_memory_limiters_are_awaited_and_count_apart():
    clock = ManualClock()
    limits = Limits.from_config(
        LimitSettings(
            messages_per_user=RateLimit(count=2, per_seconds=10),
            changes_per_user=RateLimit(count=1, per_seconds=10),
        ),
        MemoryLimiters(clock),
    )
    await limits.messages.hit("7")
    await limits.changes.hit("7")  # another limiter: its own count
    await limits.messages.hit("7")
    with pytest.raises(RateLimitedError) as caught:
        await limits.messages.check("7")
    assert caught.value.retry_after == pytest.approx(10)
    await limits.messages.reset("7")
    await limits.messages.hit("7")
    await clock.advance(10)
    await limits.changes.hit("7")
