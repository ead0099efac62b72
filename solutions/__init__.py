"""Worked solutions to the exercises of ``orbudget.exercises``, for instructors.

This folder is not part of the installed package (the wheel ships ``orbudget/`` only), so a student who installs
orbudget cannot read the answers; the package's graders check answers against properties and independent
computations instead. Import from a source checkout, with its root on ``sys.path``::

    from solutions.bwk_exercises import SOLUTIONS
    orbudget.exercises.check("hedge", SOLUTIONS["hedge"])
"""
