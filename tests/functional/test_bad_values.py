"""Bad values refused before the CIB is touched, each naming its state, key and value (issue 12).

Every row of ``BAD`` is run with ``test=True`` and for real against a CIB
holding good objects (two nodes, a Dummy, an IPaddr2, a fencing device, a
location constraint): the state fails, its comment names the culprit (the
state's object, the key and the bad value), has no traceback, and the CIB
file is byte for byte what it was. ``PARSED`` are the quoted booleans Salt
users write: read the way Pacemaker reads them, with the exact outcome asserted.

The sources of truth (docs/input-checks.md): the agent's meta-data
(parameter types and options, actions), Pacemaker's own option meta-data
(``pacemaker-schedulerd metadata`` and its kin) for cluster properties,
Pacemaker Explained's typed resource meta and op attributes, and Pacemaker's
score and duration syntax.
"""

import hashlib

import pytest
from lxml import etree

from tests.support.offline import cib_create, offline

GOOD = {
    "nodes": ['<node id="1" uname="n1"/>', '<node id="2" uname="n2"/>'],
    "resources": [
        '<primitive id="good" class="ocf" provider="pacemaker" type="Dummy">'
        '<operations><op id="good-monitor" name="monitor" interval="10s"/></operations></primitive>',
        '<primitive id="ip" class="ocf" provider="heartbeat" type="IPaddr2">'
        '<instance_attributes id="ip-ia"><nvpair id="ip-ia-ip" name="ip" value="192.0.2.10"/></instance_attributes>'
        "</primitive>",
        '<primitive id="fence1" class="stonith" type="null">'
        '<instance_attributes id="fence1-ia"><nvpair id="fence1-ia-h" name="hostlist" value="n1 n2"/>'
        "</instance_attributes></primitive>",
    ],
    "constraints": ['<rsc_location id="c-loc" rsc="good" node="n1" score="100"/>'],
}


@pytest.fixture
def good_cib(salt_env):
    for section, elements in GOOD.items():
        for xml in elements:
            cib_create(salt_env.cib_file, section, xml)
    offline(salt_env.cib_file, "crm_attribute", "--name", "stonith-enabled", "--update", "false")
    return salt_env


def _res(name, *lines, agent="ocf:pacemaker:Dummy"):
    body = "".join(f"\n    - {line}" for line in lines)
    return f"{name}:\n  pcmk.resource:\n    - agent: {agent}{body}\n"


def _state(name, fun, *lines):
    body = "".join(f"\n    - {line}" for line in lines) or " []"
    return f"{name}:\n  pcmk.{fun}:{body}\n"


IP = "ocf:heartbeat:IPaddr2"
IP_PARAMS = "ip: 192.0.2.20"

# (label, sls, failing state id, words its comment must hold)
BAD = [
    # -- 1. booleans: one rule (Pacemaker's words), anything else refused ------------------------------
    ("clone maybe", _res("r1", "clone: maybe"), "r1", ["resource 'r1'", "clone", "'maybe'"]),
    ("clone 5", _res("r1", "clone: 5"), "r1", ["resource 'r1'", "clone", "5"]),
    ("promotable perhaps", _res("r1", "promotable: perhaps"), "r1", ["resource 'r1'", "promotable", "'perhaps'"]),
    ("secrets_in_cib nope", _res("r1", "secrets_in_cib: nope"), "r1", ["resource 'r1'", "secrets_in_cib", "'nope'"]),
    ("default_ops 2", _res("r1", "default_ops: 2"), "r1", ["resource 'r1'", "default_ops", "2"]),
    (
        "check_agent sometimes",
        _res("r1", "check_agent: sometimes"),
        "r1",
        ["resource 'r1'", "check_agent", "'sometimes'"],
    ),
    ("check_agent list", _res("r1", "check_agent: [false]"), "r1", ["resource 'r1'", "check_agent", "[False]"]),
    (
        "template default_ops",
        _state("t1", "resource_template", "agent: ocf:pacemaker:Dummy", "default_ops: often"),
        "t1",
        ["resource template 't1'", "default_ops", "'often'"],
    ),
    (
        "template check_agent",
        _state("t1", "resource_template", "agent: ocf:pacemaker:Dummy", "check_agent: 3"),
        "t1",
        ["resource template 't1'", "check_agent", "3"],
    ),
    (
        "clone state promotable",
        _state("good", "clone", "promotable: maybe"),
        "good",
        ["clone 'good'", "promotable", "'maybe'"],
    ),
    ("node standby", _state("n1", "node", "standby: maybe"), "n1", ["node 'n1'", "standby", "'maybe'"]),
    ("node maintenance", _state("n1", "node", "maintenance: 7"), "n1", ["node 'n1'", "maintenance", "7"]),
    (
        "order symmetrical",
        _state("o1", "constraint", "kind: order", "first: good", "then: ip", "symmetrical: maybe"),
        "o1",
        ["constraint 'o1'", "symmetrical", "'maybe'"],
    ),
    (
        "order require_all",
        _state("o1", "constraint", "kind: order", "first: good", "then: ip", "require_all: often"),
        "o1",
        ["constraint 'o1'", "require_all", "'often'"],
    ),
    (
        "colocation influence",
        _state("co1", "constraint", "kind: colocation", "rsc: ip", "with_rsc: good", "influence: kind of"),
        "co1",
        ["constraint 'co1'", "influence", "'kind of'"],
    ),
    (
        "set sequential",
        _state("o1", "constraint", "kind: order", "sets: [{resources: [good, ip], sequential: maybe}]"),
        "o1",
        ["constraint 'o1'", "sequential", "'maybe'"],
    ),
    (
        "set require_all",
        _state("o1", "constraint", "kind: order", "sets: [{resources: [good, ip], require_all: 3}]"),
        "o1",
        ["constraint 'o1'", "require_all", "3"],
    ),
    ("ticket granted", _state("t1", "ticket", "granted: maybe"), "t1", ["ticket 't1'", "granted", "'maybe'"]),
    ("ticket standby", _state("t1", "ticket", "standby: nah"), "t1", ["ticket 't1'", "standby", "'nah'"]),
    # -- argument types ------------------------------------------------------------------------------
    ("group list", _res("r1", "group: [a, b]"), "r1", ["resource 'r1'", "group", "['a', 'b']"]),
    ("secret_params text", _res("r1", "secret_params: passwd"), "r1", ["resource 'r1'", "secret_params", "'passwd'"]),
    ("ops mapping", _res("r1", "ops: {name: monitor}"), "r1", ["resource 'r1'", "ops", "monitor"]),
    ("clone_meta list", _res("r1", "clone_meta: [a]"), "r1", ["resource 'r1'", "clone_meta", "['a']"]),
    ("agent number", _res("r1", agent="5"), "r1", ["resource 'r1'", "agent", "5"]),
    # -- 2. the agent's meta-data ------------------------------------------------------------------
    (
        "integer word",
        _res("r1", f"params: {{{IP_PARAMS}, arp_count: many}}", agent=IP),
        "r1",
        ["resource 'r1'", "arp_count", "'many'", "integer"],
    ),
    (
        "integer fraction",
        _res("r1", f"params: {{{IP_PARAMS}, arp_count: 2.5}}", agent=IP),
        "r1",
        ["resource 'r1'", "arp_count", "2.5"],
    ),
    (
        "integer duration",
        _res("r1", f"params: {{{IP_PARAMS}, arp_interval: 10s}}", agent=IP),
        "r1",
        ["resource 'r1'", "arp_interval", "'10s'"],
    ),
    (
        "boolean word",
        _res("r1", f"params: {{{IP_PARAMS}, lvs_support: maybe}}", agent=IP),
        "r1",
        ["resource 'r1'", "lvs_support", "'maybe'", "boolean"],
    ),
    (
        "boolean 2",
        _res("r1", f"params: {{{IP_PARAMS}, flush_routes: 2}}", agent=IP),
        "r1",
        ["resource 'r1'", "flush_routes", "2"],
    ),
    (
        "select",
        _res("r1", "params: {disk_unit: X}", agent="ocf:pacemaker:SysInfo"),
        "r1",
        ["resource 'r1'", "disk_unit", "'X'", "one of"],
    ),
    ("promotable Dummy", _res("r1", "promotable: true"), "r1", ["resource 'r1'", "promotable", "promote"]),
    (
        "clone promotable Dummy",
        _state("good", "clone", "promotable: true"),
        "good",
        ["'good'", "promotable", "promote"],
    ),
    ("op monitr", _res("r1", "ops: [{name: monitr, interval: 10s}]"), "r1", ["resource 'r1'", "op name", "'monitr'"]),
    (
        "op strat",
        _res("r1", f"params: {{{IP_PARAMS}}}", "ops: [{name: strat}]", agent=IP),
        "r1",
        ["resource 'r1'", "'strat'"],
    ),
    ("op promote Dummy", _res("r1", "ops: [{name: promote}]"), "r1", ["resource 'r1'", "'promote'"]),
    ("op on existing", _res("good", "ops: [{name: monitr, interval: 10s}]"), "good", ["resource 'good'", "'monitr'"]),
    ("secret unknown", _res("r1", "secret_params: [password]"), "r1", ["resource 'r1'", "secret_params", "'password'"]),
    (
        "secret unknown ip",
        _res("r1", f"params: {{{IP_PARAMS}}}", "secret_params: [pass]", agent=IP),
        "r1",
        ["resource 'r1'", "'pass'"],
    ),
    (
        "template op",
        _state("t1", "resource_template", "agent: ocf:pacemaker:Dummy", "ops: [{name: monitr}]"),
        "t1",
        ["template 't1'", "'monitr'"],
    ),
    (
        "template secret",
        _state("t1", "resource_template", "agent: ocf:pacemaker:Dummy", "secret_params: [nope]"),
        "t1",
        ["template 't1'", "'nope'"],
    ),
    (
        "template integer",
        _state("t1", "resource_template", f"agent: {IP}", "params: {arp_count: lots}"),
        "t1",
        ["template 't1'", "arp_count", "'lots'"],
    ),
    # -- 3. durations and op attributes ---------------------------------------------------------
    (
        "interval words",
        _res("r1", "ops: [{name: monitor, interval: ten seconds}]"),
        "r1",
        ["resource 'r1'", "interval", "'ten seconds'"],
    ),
    ("timeout soon", _res("r1", "ops: [{name: start, timeout: soon}]"), "r1", ["resource 'r1'", "timeout", "'soon'"]),
    (
        "start-delay",
        _res("r1", "ops: [{name: monitor, interval: 10s, start-delay: later}]"),
        "r1",
        ["resource 'r1'", "start-delay", "'later'"],
    ),
    (
        "interval unit",
        _res("r1", "ops: [{name: monitor, interval: 10 parsecs}]"),
        "r1",
        ["resource 'r1'", "interval", "'10 parsecs'"],
    ),
    (
        "interval negative",
        _res("r1", "ops: [{name: monitor, interval: -5s}]"),
        "r1",
        ["resource 'r1'", "interval", "'-5s'"],
    ),
    (
        "op role",
        _res("r1", "ops: [{name: monitor, interval: 10s, role: Leader}]"),
        "r1",
        ["resource 'r1'", "role", "'Leader'"],
    ),
    (
        "op on-fail",
        _res("r1", "ops: [{name: monitor, interval: 10s, on-fail: explode}]"),
        "r1",
        ["resource 'r1'", "on-fail", "'explode'"],
    ),
    (
        "op enabled",
        _res("r1", "ops: [{name: monitor, interval: 10s, enabled: maybe}]"),
        "r1",
        ["resource 'r1'", "enabled", "'maybe'"],
    ),
    (
        "op record-pending",
        _res("r1", "ops: [{name: monitor, interval: 10s, record-pending: perhaps}]"),
        "r1",
        ["resource 'r1'", "record-pending", "'perhaps'"],
    ),
    (
        "op nested",
        _res("r1", "ops: [{name: monitor, interval: 10s, timeout: [1]}]"),
        "r1",
        ["resource 'r1'", "timeout", "[1]"],
    ),
    # -- meta attributes Pacemaker documents a type for ----------------------------------------------
    (
        "target-role Startd",
        _res("r1", "meta: {target-role: Startd}"),
        "r1",
        ["resource 'r1'", "target-role", "'Startd'"],
    ),
    ("is-managed", _res("r1", "meta: {is-managed: maybe}"), "r1", ["resource 'r1'", "is-managed", "'maybe'"]),
    ("priority", _res("r1", "meta: {priority: high}"), "r1", ["resource 'r1'", "priority", "'high'"]),
    (
        "stickiness",
        _res("r1", "meta: {resource-stickiness: INFINITYx}"),
        "r1",
        ["resource 'r1'", "resource-stickiness", "'INFINITYx'"],
    ),
    (
        "migration-threshold",
        _res("r1", "meta: {migration-threshold: lots}"),
        "r1",
        ["resource 'r1'", "migration-threshold", "'lots'"],
    ),
    (
        "failure-timeout",
        _res("r1", "meta: {failure-timeout: soon}"),
        "r1",
        ["resource 'r1'", "failure-timeout", "'soon'"],
    ),
    (
        "multiple-active",
        _res("r1", "meta: {multiple-active: panic}"),
        "r1",
        ["resource 'r1'", "multiple-active", "'panic'"],
    ),
    ("requires", _res("r1", "meta: {requires: everything}"), "r1", ["resource 'r1'", "requires", "'everything'"]),
    (
        "meta sets",
        _res("r1", "meta: [{values: {target-role: Startd}}]"),
        "r1",
        ["resource 'r1'", "target-role", "'Startd'"],
    ),
    (
        "meta on existing",
        _res("good", "meta: {target-role: Startd}"),
        "good",
        ["resource 'good'", "target-role", "'Startd'"],
    ),
    ("clone-max", _res("r1", "clone_meta: {clone-max: -1}"), "r1", ["resource 'r1'", "clone-max", "-1"]),
    ("interleave", _res("r1", "clone: {interleave: maybe}"), "r1", ["resource 'r1'", "interleave", "'maybe'"]),
    (
        "group meta",
        _state("g1", "group", "resources: [good]", "meta: {target-role: Runing}"),
        "g1",
        ["group 'g1'", "target-role", "'Runing'"],
    ),
    (
        "clone meta",
        _state("good", "clone", "meta: {clone-node-max: two}"),
        "good",
        ["'good'", "clone-node-max", "'two'"],
    ),
    # -- utilization -----------------------------------------------------------------------------
    ("utilization word", _res("r1", "utilization: {cpu: lots}"), "r1", ["resource 'r1'", "cpu", "'lots'"]),
    ("utilization fraction", _res("r1", "utilization: {memory: 1.5}"), "r1", ["resource 'r1'", "memory", "1.5"]),
    (
        "node utilization",
        _state("cpu", "node_utilization", "node: n1", "value: many"),
        "cpu",
        ["'cpu'", "n1", "'many'"],
    ),
    (
        "template utilization",
        _state("t1", "resource_template", "agent: ocf:pacemaker:Dummy", "utilization: {cpu: x}"),
        "t1",
        ["template 't1'", "cpu", "'x'"],
    ),
    # -- scores --------------------------------------------------------------------------------
    (
        "location INFINITYx",
        _state("l1", "constraint", "kind: location", "rsc: ip", "node: n1", "score: INFINITYx"),
        "l1",
        ["constraint 'l1'", "score", "'INFINITYx'"],
    ),
    (
        "location dash",
        _state("l1", "constraint", "kind: location", "rsc: ip", "node: n1", "score: '-'"),
        "l1",
        ["constraint 'l1'", "score", "'-'"],
    ),
    (
        "location fraction",
        _state("l1", "constraint", "kind: location", "rsc: ip", "node: n1", "score: 2.5"),
        "l1",
        ["constraint 'l1'", "score", "2.5"],
    ),
    (
        "colocation score",
        _state("co1", "constraint", "kind: colocation", "rsc: ip", "with_rsc: good", "score: high"),
        "co1",
        ["constraint 'co1'", "score", "'high'"],
    ),
    (
        "rule score",
        _state(
            "l1",
            "constraint",
            "kind: location",
            "rsc: ip",
            "rules: [{score: INFINITYx, expressions: [{attribute: a, operation: defined}]}]",
        ),
        "l1",
        ["constraint 'l1'", "score", "'INFINITYx'"],
    ),
    ("node score", _state("n1", "node", "score: '-'"), "n1", ["node 'n1'", "score", "'-'"]),
    (
        "property set score",
        _state("ps1", "property_set", "values: {maintenance-mode: false}", "score: abc"),
        "ps1",
        ["'ps1'", "score", "'abc'"],
    ),
    (
        "defaults set score",
        _state("rd1", "rsc_defaults_set", "values: {priority: 1}", "score: '1.5'"),
        "rd1",
        ["'rd1'", "score", "'1.5'"],
    ),
    (
        "set score",
        _state("co1", "constraint", "kind: colocation", "sets: [{resources: [good, ip], score: much}]"),
        "co1",
        ["constraint 'co1'", "score", "'much'"],
    ),
    (
        "meta set score",
        _res("r1", "meta: [{values: {priority: 1}, score: foo}]"),
        "r1",
        ["resource 'r1'", "score", "'foo'"],
    ),
    # -- cluster properties, against Pacemaker's own option meta-data --------------------------
    (
        "property unknown",
        _state("stonith-enabeld", "property", "value: false"),
        "stonith-enabeld",
        ["'stonith-enabeld'", "not a Pacemaker cluster property", "stonith-enabled"],
    ),
    (
        "property boolean",
        _state("stonith-enabled", "property", "value: maybe"),
        "stonith-enabled",
        ["'stonith-enabled'", "'maybe'", "boolean"],
    ),
    (
        "property select",
        _state("no-quorum-policy", "property", "value: sometimes"),
        "no-quorum-policy",
        ["'no-quorum-policy'", "'sometimes'", "stop"],
    ),
    (
        "property time",
        _state("cluster-recheck-interval", "property", "value: often"),
        "cluster-recheck-interval",
        ["cluster-recheck-interval", "'often'", "duration"],
    ),
    (
        "property integer",
        _state("batch-limit", "property", "value: many"),
        "batch-limit",
        ["batch-limit", "'many'", "integer"],
    ),
    (
        "property strategy",
        _state("placement-strategy", "property", "value: random"),
        "placement-strategy",
        ["placement-strategy", "'random'"],
    ),
    (
        "property percentage",
        _state("load-threshold", "property", "value: high"),
        "load-threshold",
        ["load-threshold", "'high'", "percentage"],
    ),
    ("property based", _state("enable-acl", "property", "value: perhaps"), "enable-acl", ["enable-acl", "'perhaps'"]),
    (
        "property_set unknown",
        _state("ps1", "property_set", "values: {stonith-enabeld: false}"),
        "ps1",
        ["'ps1'", "'stonith-enabeld'"],
    ),
    (
        "property_set value",
        _state("ps1", "property_set", "values: {no-quorum-policy: sometimes}"),
        "ps1",
        ["'ps1'", "no-quorum-policy", "'sometimes'"],
    ),
    # -- resource and op defaults --------------------------------------------------------------
    (
        "rsc_defaults stickiness",
        _state("resource-stickiness", "rsc_defaults", "value: lots"),
        "resource-stickiness",
        ["resource-stickiness", "'lots'"],
    ),
    (
        "rsc_defaults target-role",
        _state("target-role", "rsc_defaults", "value: Startd"),
        "target-role",
        ["target-role", "'Startd'"],
    ),
    ("op_defaults timeout", _state("timeout", "op_defaults", "value: soon"), "timeout", ["timeout", "'soon'"]),
    (
        "op_defaults_set interval",
        _state("od1", "op_defaults_set", "values: {interval: forever}"),
        "od1",
        ["'od1'", "interval", "'forever'"],
    ),
    (
        "rsc_defaults_set is-managed",
        _state("rd1", "rsc_defaults_set", "values: {is-managed: maybe}"),
        "rd1",
        ["'rd1'", "is-managed", "'maybe'"],
    ),
    # -- alerts: their meta timeout is a duration ------------------------------------------------
    (
        "alert timeout",
        _state("a1", "alert", "path: /usr/bin/true", "meta: {timeout: whenever}"),
        "a1",
        ["alert 'a1'", "timeout", "'whenever'"],
    ),
    (
        "alert recipient timeout",
        _state("a1", "alert", "path: /usr/bin/true", "recipients: [{value: /tmp/x, meta: {timeout: 5 parsecs}}]"),
        "a1",
        ["alert 'a1'", "recipient 1", "timeout", "'5 parsecs'"],
    ),
    # -- 4. fencing levels, nodes, colocation with itself --------------------------------------
    ("fencing 2.5", _state("n1", "fencing_level", "index: 2.5", "devices: [fence1]"), "n1", ["'n1'", "index", "2.5"]),
    ("fencing 0", _state("n1", "fencing_level", "index: 0", "devices: [fence1]"), "n1", ["'n1'", "index", "0"]),
    ("fencing 10", _state("n1", "fencing_level", "index: 10", "devices: [fence1]"), "n1", ["'n1'", "index", "10"]),
    (
        "fencing word",
        _state("n1", "fencing_level", "index: two", "devices: [fence1]"),
        "n1",
        ["'n1'", "index", "'two'"],
    ),
    (
        "fencing bool",
        _state("n1", "fencing_level", "index: true", "devices: [fence1]"),
        "n1",
        ["'n1'", "index", "True"],
    ),
    ("fencing absent 2.5", _state("n1", "fencing_level_absent", "index: 2.5"), "n1", ["'n1'", "index", "2.5"]),
    (
        "fencing target",
        _state("n9", "fencing_level", "index: 1", "devices: [fence1]"),
        "n9",
        ["'n9'", "not a cluster node", "n1"],
    ),
    (
        "location node",
        _state("l1", "constraint", "kind: location", "rsc: ip", "node: n9", "score: 100"),
        "l1",
        ["constraint 'l1'", "node", "'n9'"],
    ),
    (
        "colocated with itself",
        _state("co1", "constraint", "kind: colocation", "rsc: good", "with_rsc: good"),
        "co1",
        ["constraint 'co1'", "'good'", "itself"],
    ),
    # -- constraint values only Pacemaker's schema defines: refused under test=True too -------------
    (
        "order first_action",
        _state("o1", "constraint", "kind: order", "first: good", "then: ip", "first_action: strat"),
        "o1",
        ["o1", "'strat'"],
    ),
    (
        "order then_action",
        _state("o1", "constraint", "kind: order", "first: good", "then: ip", "then_action: promte"),
        "o1",
        ["o1", "'promte'"],
    ),
    (
        "colocation rsc_role",
        _state("co1", "constraint", "kind: colocation", "rsc: ip", "with_rsc: good", "rsc_role: Slavee"),
        "co1",
        ["co1", "'Slavee'"],
    ),
    (
        "colocation with_rsc_role",
        _state("co1", "constraint", "kind: colocation", "rsc: ip", "with_rsc: good", "with_rsc_role: Primary"),
        "co1",
        ["co1", "'Primary'"],
    ),
    (
        "ticket loss_policy",
        _state("t1", "constraint", "kind: ticket", "rsc: good", "ticket: tk", "loss_policy: explode"),
        "t1",
        ["t1", "'explode'"],
    ),
    (
        "location resource_discovery",
        _state(
            "l1", "constraint", "kind: location", "rsc: ip", "node: n1", "score: 5", "resource_discovery: sometimes"
        ),
        "l1",
        ["l1", "'sometimes'"],
    ),
    (
        "location role",
        _state("l1", "constraint", "kind: location", "rsc: ip", "node: n1", "score: 5", "role: Runing"),
        "l1",
        ["l1", "'Runing'"],
    ),
    (
        "order set action",
        _state("o1", "constraint", "kind: order", "sets: [{resources: [good, ip], action: begin}]"),
        "o1",
        ["o1", "'begin'"],
    ),
    (
        "colocation set role",
        _state("co1", "constraint", "kind: colocation", "score: 10", "sets: [{resources: [good, ip], role: Top}]"),
        "co1",
        ["co1", "'Top'"],
    ),
    (
        "rule operation",
        _state(
            "l1",
            "constraint",
            "kind: location",
            "rsc: ip",
            "rules: [{score: 10, expressions: [{attribute: site, operation: equalz, value: east}]}]",
        ),
        "l1",
        ["l1", "'equalz'"],
    ),
    (
        "date operation",
        _state(
            "l1",
            "constraint",
            "kind: location",
            "rsc: ip",
            "rules: [{score: 10, expressions: [{date: {operation: between, start: '2030-01-01'}}]}]",
        ),
        "l1",
        ["l1", "'between'"],
    ),
    (
        "property set rule date",
        _state(
            "w1",
            "property_set",
            "values: {maintenance-mode: true}",
            "rule: {expressions: [{date: {operation: date_spec, date_spec: {weekdayz: '1-5'}}}]}",
        ),
        "w1",
        ["w1", "weekdayz"],
    ),
]


def _comment(result, state):
    return next((r["comment"] for r in result.raw.values() if r.get("__id__") == state), None)


@pytest.mark.parametrize("label, sls, state, words", BAD, ids=[row[0] for row in BAD])
def test_a_bad_value_is_refused_naming_it_before_the_cib_is_touched(good_cib, label, sls, state, words):
    before = good_cib.cib_file.read_bytes()
    for test in (True, False):
        result = good_cib.sls(sls, test=test)
        failures = result.failures()
        assert state in failures, (label, test, result.raw)
        comment = failures[state]
        missing = [word for word in words if word not in comment]
        assert not missing, (label, test, comment)
        assert "Traceback" not in comment, comment
        assert good_cib.cib_file.read_bytes() == before, (label, test)


def test_there_are_enough_rows():
    assert len(BAD) >= 115


# -- quoted booleans: read as Pacemaker reads them -----------------------------------------------
def _cib(salt_env):
    return etree.fromstring(salt_env.cib_file.read_bytes())


def _applied(salt_env, sls):
    dry = salt_env.sls(sls, test=True)
    assert dry.all_ok, dry.failures()
    result = salt_env.sls(sls)
    assert result.all_ok, result.failures()
    assert salt_env.sls(sls).changed == set()  # and nothing moves on the next run
    return _cib(salt_env)


@pytest.mark.parametrize("word", ['"false"', "'no'", "off", "'0'", "False", "0"])
def test_clone_false_quoted_is_no_clone(good_cib, word):
    cib = _applied(good_cib, _res("r1", f"clone: {word}"))
    assert cib.xpath("//resources/primitive[@id='r1']") and not cib.xpath("//clone")


@pytest.mark.parametrize("word", ['"true"', "yes", "'on'", "1"])
def test_clone_true_quoted_is_a_clone(good_cib, word):
    cib = _applied(good_cib, _res("r1", f"clone: {word}"))
    assert cib.xpath("//resources/clone[@id='r1-clone']/primitive[@id='r1']")


def test_promotable_false_quoted_is_not_promotable(good_cib):
    cib = _applied(good_cib, _res("r1", "clone: true", 'promotable: "false"'))
    clone = cib.xpath("//clone[@id='r1-clone']")[0]
    assert not clone.xpath(".//nvpair[@name='promotable' and @value='true']")


def test_promotable_yes_quoted_on_a_promotable_agent(good_cib):
    cib = _applied(good_cib, _res("r1", 'promotable: "yes"', agent="ocf:pacemaker:Stateful"))
    assert cib.xpath("//clone[@id='r1-clone']//nvpair[@name='promotable' and @value='true']")


def test_default_ops_no_quoted_gives_only_a_monitor(good_cib):
    cib = _applied(good_cib, _res("r1", 'default_ops: "no"'))
    assert [op.get("name") for op in cib.xpath("//primitive[@id='r1']/operations/op")] == ["monitor"]


def test_check_agent_false_quoted_skips_the_agent_checks(good_cib):
    sls = _res("r1", 'check_agent: "false"', "params: {not_a_param: 1, arp_count: many}", agent=IP)
    cib = _applied(good_cib, sls)
    assert cib.xpath("//primitive[@id='r1']//nvpair[@name='arp_count' and @value='many']")
    assert "check skipped" in good_cib.sls(sls)["r1"]["comment"]


def test_secrets_in_cib_false_quoted_keeps_the_secret_out(good_cib, tmp_path, monkeypatch):
    from saltext.pcmk.utils.cib import secretfiles

    monkeypatch.setattr(secretfiles, "LRM_SECRETS_DIR", str(tmp_path / "secrets"))
    monkeypatch.setattr(secretfiles.SecretFiles.__init__, "__defaults__", (str(tmp_path / "secrets"),))
    sls = _res("r1", "params: {passwd: TopSecret1}", "secret_params: [passwd]", 'secrets_in_cib: "false"')
    result = good_cib.sls(sls)
    assert result.all_ok, result.failures()
    assert "TopSecret1" not in good_cib.cib_text()
    assert _cib(good_cib).xpath("//primitive[@id='r1']//nvpair[@name='passwd']/@value") == ["lrm://"]
    sign = (tmp_path / "secrets" / "r1" / "passwd.sign").read_text().strip()
    assert sign == hashlib.md5(b"TopSecret1").hexdigest()


def test_constraint_booleans_quoted_are_written_as_the_schema_spells_them(good_cib):
    sls = _state("o1", "constraint", "kind: order", "first: good", "then: ip", "symmetrical: 'no'")
    cib = _applied(good_cib, sls)
    assert cib.xpath("//rsc_order[@id='o1']/@symmetrical") == ["false"]


def test_node_standby_yes_quoted(good_cib):
    cib = _applied(good_cib, _state("n1", "node", "standby: 'yes'"))
    assert cib.xpath("//node[@uname='n1']/instance_attributes/nvpair[@name='standby']/@value") == ["on"]


def test_agent_typed_values_in_pacemaker_spelling_are_taken(good_cib):
    sls = _res("r1", f"params: {{{IP_PARAMS}, arp_count: 10, lvs_support: 'yes', flush_routes: false}}", agent=IP)
    cib = _applied(good_cib, sls)
    values = {nv.get("name"): nv.get("value") for nv in cib.xpath("//primitive[@id='r1']/instance_attributes/nvpair")}
    assert values == {"ip": "192.0.2.20", "arp_count": "10", "lvs_support": "yes", "flush_routes": "false"}


def test_a_fencing_index_given_as_text_is_that_index(good_cib):
    cib = _applied(good_cib, _state("n1", "fencing_level", "index: '2'", "devices: [fence1]"))
    assert cib.xpath("//fencing-level[@target='n1']/@index") == ["2"]


def test_a_property_pacemaker_describes_is_set(good_cib):
    cib = _applied(good_cib, _state("no-quorum-policy", "property", "value: freeze"))
    assert cib.xpath("//cluster_property_set/nvpair[@name='no-quorum-policy']/@value") == ["freeze"]


def test_location_on_any_node_when_the_cib_lists_none(salt_env):
    """An offline CIB no node has joined yet says nothing of node names: the node is taken."""
    cib_create(salt_env.cib_file, "resources", GOOD["resources"][0])
    cib = _applied(salt_env, _state("l1", "constraint", "kind: location", "rsc: good", "node: n7", "score: 10"))
    assert cib.xpath("//rsc_location[@id='l1']/@node") == ["n7"]


def test_ban_of_a_node_not_in_the_cluster_is_refused(good_cib):
    from salt.exceptions import CommandExecutionError

    before = good_cib.cib_file.read_bytes()
    with pytest.raises(CommandExecutionError, match="node 'n9' is not a cluster node") as refused:
        good_cib.loaders.modules.pcmk.ban("good", "n9")
    assert "cli-ban-good-on-n9" in str(refused.value) and "Traceback" not in str(refused.value)
    assert good_cib.cib_file.read_bytes() == before
