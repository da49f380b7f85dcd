"""Plain library code of saltext-pcmk: no Salt imports below this package.

``tools`` runs Pacemaker's programs, ``cib`` reads and writes the CIB, ``model``
holds the declarative specs, ``diff`` renders what changes, ``validate`` checks
a candidate before it is written, ``session`` ties them into one converge step.
"""
