"""Importing this module registers the mutation corpus's classes (``MCBENCH_PLUGINS`` names it in the
gate-power script's worker processes): the same plugin path a user's own variant takes."""

from benchmark.gate.mutants import register_mutants

register_mutants()
