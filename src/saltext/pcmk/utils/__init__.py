"""Plain library code of saltext-pcmk: no Salt imports below this package.

The packages are the layers; each imports only the ones below it
(``tests/unit/test_layout.py`` checks, ``docs/design.md`` draws them):

``errors``, ``tools``
    every exception class; ToolRunner, the one way to run Pacemaker's programs
``cib/``
    the CIB engine: ``document`` (read, versioned write), ``nvsets``,
    ``metadata``, ``specs/`` (declarations that reconcile a candidate),
    ``validate``, ``diff``, ``secretfiles``, ``session`` (one converge step)
``cluster/``
    the live cluster: ``status`` (crm_mon, waits), ``operations``, ``bootstrap``
``restarts/``
    pending restarts performed once: ``records`` (what the CIB holds), ``performer``
``agents``
    OCF agent files: check, deploy, list (the shipped scripts are data in ``saltext/pcmk/agents/``)
``provider/``
    the service provider: ``pillar`` (``pcmk:services``), ``service`` (``service.*``)
``saltglue``
    what the loader modules share (``modules/``, ``states/``, ``runners/``)

Inside a package, modules import each other relatively; across packages, by
their full name (``from saltext.pcmk.utils.cib import specs``).
"""
