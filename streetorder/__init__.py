"""The command-line layer: ``streetorder process | run | review | evaluate | bench``. Nothing imports it."""
