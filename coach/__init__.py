"""coach: an offline, hands-free voice coach for walking backwards.

This package's top level imports nothing outside the standard library, so that
``python3 -m coach.bootstrap`` can run before any dependency is installed.
"""

__version__ = "0.1.0"
