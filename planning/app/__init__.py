"""The application layer: workflows, the ``rdsplan`` command line (and, later, reports
and the evaluation harness).

It is the only part of the toolkit that imports both packages: it reads studies
and fits models with :mod:`rdsmodel`, builds :class:`planning.PlanningInputs`
from a posterior and hands them to the planners.
"""
