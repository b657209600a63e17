"""The one registry mechanism (:class:`mmkg.registry.Registry`) and the registries built on it."""

import subprocess
import sys

import pytest

from mmkg.errors import ConfigError
from mmkg.registry import Registry


def test_names_keep_registration_order_and_duplicates_are_refused():
    things: Registry[object] = Registry("thing")

    @things.register("b")
    def b() -> None: ...

    things.add("a", 1)
    assert things.names() == ("b", "a") and things.get("b") is b and list(things.values()) == [b, 1]
    assert things.add("a", 1) == 1                                  # the same entry again: a no-op
    with pytest.raises(ValueError, match="^thing 'a' is already registered$"):
        things.add("a", 2)
    with pytest.raises(ValueError, match="^thing 'b' is already registered$"):
        things.register("b")(lambda: None)
    assert things.get("a") == 1 and things.get("b") is b


def test_an_unknown_name_is_one_line_listing_the_choices():
    things: Registry[int] = Registry("thing")
    things.add("x", 1)
    things.add("y", 2)
    with pytest.raises(ConfigError, match="^unknown thing 'z'; expected one of x, y$"):
        things.get("z")
    assert "z" not in things and "x" in things


def test_builtins_are_imported_on_the_first_lookup_only():
    """Importing a registry imports no torch; its first lookup imports the module that fills it."""
    code = ("import sys; from mmkg.train.registry import LOSSES; assert 'torch' not in sys.modules; "
            "print(LOSSES.names()); assert 'mmkg.train.objectives' in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "('bce', 'bpr', 'softmax')"
