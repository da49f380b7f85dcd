"""The CIB engine: read, reconcile, check, diff and write Pacemaker's configuration.

``document`` reads the CIB and writes it as a versioned, conflict-checked
patch; ``nvsets`` reconciles name/value sets; ``metadata`` reads what an agent
takes; ``specs`` declare CIB objects and reconcile a candidate; ``validate``
checks a candidate; ``diff`` says what changes; ``secretfiles`` keeps secrets
out of the CIB; ``session`` ties them into one converge step.
"""
