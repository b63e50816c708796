"""Named passes over the IR. Each is a function Graph -> Graph in its own file."""

from .dce import dead_code_elimination

# The order compiled code goes through.
PIPELINE = [dead_code_elimination]

__all__ = ["PIPELINE", "dead_code_elimination"]
