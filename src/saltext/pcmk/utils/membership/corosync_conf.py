"""Pillar ``pcmk:cluster`` -> a validated :class:`ClusterSpec` -> ``corosync.conf`` text, and back.

The pillar is checked whole before anything is rendered: unknown keys,
duplicate node ids or names, an address count that is not the link count,
values Corosync would refuse. Every error is a :class:`SpecError` naming the
pillar path at fault (``pcmk:cluster:nodes[2]:nodeid``).

:func:`parse` reads an existing ``corosync.conf`` (sections, ``key: value``,
comments) into nested dicts; :func:`identity` takes from it, or from a
running Corosync's cmap (:func:`identity_from_cmap`), what a change must not
alter on a live cluster: the cluster name, the transport and which node id
is which node name.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from saltext.pcmk.utils.errors import SpecError
from saltext.pcmk.utils.membership import keys

PILLAR = "pcmk:cluster"
HEADER = "# Managed by Salt (saltext-pcmk, pcmk.corosync_conf): local changes are overwritten.\n"

CLUSTER_KEYS = {
    "name",
    "nodes",
    "transport",
    "links",
    "crypto",
    "totem",
    "quorum",
    "logging",
    "authkeys",
    "timeout",
}
NODE_KEYS = {"name", "nodeid", "addrs", "minion"}
LINK_KEYS = {
    "knet_link_priority",
    "knet_transport",
    "knet_ping_interval",
    "knet_ping_timeout",
    "knet_ping_precision",
    "knet_pong_count",
    "mcastport",
}
CRYPTO_KEYS = {"cipher", "hash"}
CIPHERS = ("none", "aes256", "aes192", "aes128")
HASHES = ("none", "md5", "sha1", "sha256", "sha384", "sha512")
# Totem timings and limits (corosync.conf(5)); all integers.
TOTEM_KEYS = {
    "token",
    "token_warning",
    "token_retransmits_before_loss_const",
    "join",
    "consensus",
    "merge",
    "downcheck",
    "fail_recv_const",
    "seqno_unchanged_const",
    "send_join",
    "max_messages",
    "window_size",
    "knet_pmtud_interval",
    "knet_compression_threshold",
}
QUORUM_BOOLS = ("two_node", "wait_for_all", "last_man_standing", "auto_tie_breaker")
QUORUM_KEYS = {*QUORUM_BOOLS, "last_man_standing_window", "auto_tie_breaker_node", "expected_votes"}
LOGGING_KEYS = {"to_logfile", "logfile", "to_syslog", "to_stderr", "timestamp", "debug", "fileline"}
DEFAULT_LOGGING = (("to_logfile", "yes"), ("logfile", "/var/log/corosync/corosync.log"), ("to_syslog", "yes"))
AUTHKEY_KEYS = {"corosync", "pacemaker"}
# Characters Corosync's parser would take as syntax, or that a name must not hold.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_HOST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class NodeDecl:
    name: str
    nodeid: int
    addrs: tuple[str, ...]
    minion: str | None


@dataclass(frozen=True)
class ClusterSpec:
    """What ``pcmk:cluster`` declares, checked. Keys are bytes and never shown (``repr`` masks them)."""

    name: str
    nodes: tuple[NodeDecl, ...]
    transport: str = "knet"
    links: tuple[tuple[tuple[str, str], ...], ...] = ((),)
    crypto_cipher: str = "aes256"
    crypto_hash: str = "sha256"
    totem: tuple[tuple[str, str], ...] = ()
    quorum: tuple[tuple[str, str], ...] = ()
    logging: tuple[tuple[str, str], ...] = DEFAULT_LOGGING
    corosync_authkey: bytes | None = field(default=None, repr=False)
    pacemaker_authkey: bytes | None = field(default=None, repr=False)
    timeout: float = 300

    def node_of_minion(self, minion_id: str) -> NodeDecl:
        """The node ``minion_id`` runs (``minion`` key, else a node named like the minion)."""
        for node in self.nodes:
            if node.minion == minion_id:
                return node
        for node in self.nodes:
            if node.minion is None and node.name == minion_id:
                return node
        raise SpecError(f"{PILLAR}:nodes: minion {minion_id} is not one of the cluster's nodes")

    @property
    def quorum_options(self) -> dict[str, str]:
        return dict(self.quorum)

    def votes_needed(self, nodes: int | None = None) -> int:
        """Votes a partition needs for quorum under this spec (votequorum, one vote per node)."""
        count = len(self.nodes) if nodes is None else nodes
        options = self.quorum_options
        expected = int(options.get("expected_votes", count))
        if options.get("two_node") == "1" and expected == 2:
            return 1
        return expected // 2 + 1

    def quorate_with(self, members: set[int]) -> bool:
        """Whether the partition of node ids ``members`` has quorum under this spec, at once.

        Beyond a majority of the expected votes: ``two_node`` (one of two), and
        ``auto_tie_breaker``, where exactly half the votes are enough for the half
        holding the tie-breaker (``auto_tie_breaker_node``: ``lowest``, the default,
        ``highest``, or node ids, the first one present). ``last_man_standing`` is not
        credited: it lowers the expected votes only ``last_man_standing_window`` after
        members leave, and the change checked here takes effect at once.
        """
        declared = {n.nodeid for n in self.nodes}
        votes = len(members & declared)
        if votes >= self.votes_needed():
            return True
        options = self.quorum_options
        expected = int(options.get("expected_votes", len(self.nodes)))
        if options.get("auto_tie_breaker") != "1" or votes * 2 != expected or not declared:
            return False
        breaker = options.get("auto_tie_breaker_node", "lowest")
        if breaker == "lowest":
            return min(declared) in members
        if breaker == "highest":
            return max(declared) in members
        return any(int(i) in members for i in breaker.split())  # the first listed present: the others run nowhere


# -- pillar -> spec -------------------------------------------------------------------------------------
def _mapping(value, where):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SpecError(f"{where} must be a mapping, got {type(value).__name__} {value!r}")
    return value


def _unknown(data, allowed, where):
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(allowed))})")


def _int(value, where, low=0, high=2**32 - 1):
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise SpecError(f"{where} must be an integer, got {value!r}")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise SpecError(f"{where} must be an integer, got {value!r}") from None
    if not low <= number <= high:
        raise SpecError(f"{where} must be between {low} and {high}, got {number}")
    return number


def _flag(value, where):
    text = str(value).strip().lower()
    if isinstance(value, bool):
        return "1" if value else "0"
    if text in _TRUE:
        return "1"
    if text in _FALSE:
        return "0"
    raise SpecError(f"{where} must be true or false, got {value!r}")


def _word(value, where, pattern=_NAME):
    if not isinstance(value, (str, int)) or isinstance(value, bool) or not pattern.match(str(value)):
        raise SpecError(f"{where} must be a name of letters, digits, '.', '_' or '-', got {value!r}")
    return str(value)


def _address(value, where):
    text = str(value).strip() if isinstance(value, str) else None
    if not text:
        raise SpecError(f"{where} must be an IP address or host name, got {value!r}")
    try:
        ipaddress.ip_address(text)
        return text
    except ValueError:
        pass
    if not _HOST.match(text) or text.replace(".", "").isdigit():
        raise SpecError(f"{where} must be an IP address or host name, got {value!r}")
    return text


def _options(data, allowed, where, convert):
    data = _mapping(data, where)
    _unknown(data, allowed, where)
    return tuple(sorted((str(k), convert(v, f"{where}:{k}")) for k, v in data.items()))


def _quorum_value(value, where):
    key = where.rsplit(":", 1)[1]
    if key in QUORUM_BOOLS:
        return _flag(value, where)
    if key == "auto_tie_breaker_node":
        # votequorum(5): lowest, highest, or node ids (a list, or space-separated)
        if value in ("lowest", "highest"):
            return value
        ids = value if isinstance(value, list) else str(value).split()
        if not ids:
            raise SpecError(f"{where} must be lowest, highest or node ids, got {value!r}")
        return " ".join(str(_int(i, where, low=1)) for i in ids)
    return str(_int(value, where))


def _totem_value(value, where):
    return str(_int(value, where))


def _logging_value(value, where):
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, (str, int)) or not str(value).strip() or any(c in str(value) for c in "{}\n\r"):
        raise SpecError(f"{where} must be a plain value, got {value!r}")
    return str(value).strip()


def spec_from_pillar(data) -> ClusterSpec:
    """Check pillar ``pcmk:cluster`` whole and build the :class:`ClusterSpec`; SpecError names the culprit."""
    if not data:
        raise SpecError(f"pillar {PILLAR} is empty: declare the cluster's name and nodes")
    data = _mapping(data, PILLAR)
    _unknown(data, CLUSTER_KEYS, PILLAR)
    if "name" not in data:
        raise SpecError(f"{PILLAR}:name is missing")
    name = _word(data["name"], f"{PILLAR}:name")
    if len(name) > 32:  # Pacemaker's cluster-name and knet's limits are far above; corosync-qdevice uses it as a path
        raise SpecError(f"{PILLAR}:name {name!r} is longer than 32 characters")
    transport = str(data.get("transport", "knet"))
    if transport != "knet":
        raise SpecError(f"{PILLAR}:transport {transport!r}: only knet is supported (Corosync 3)")

    links_raw = data.get("links", [{}])
    if not isinstance(links_raw, list) or not links_raw:
        raise SpecError(f"{PILLAR}:links must be a non-empty list of link option mappings, got {links_raw!r}")
    if len(links_raw) > 8:
        raise SpecError(f"{PILLAR}:links: knet has at most 8 links, {len(links_raw)} declared")
    links = tuple(
        _options(link, LINK_KEYS, f"{PILLAR}:links[{i}]", lambda v, w: _logging_value(v, w))
        for i, link in enumerate(links_raw)
    )

    crypto = _mapping(data.get("crypto"), f"{PILLAR}:crypto")
    _unknown(crypto, CRYPTO_KEYS, f"{PILLAR}:crypto")
    cipher = str(crypto.get("cipher", "aes256"))
    digest = str(crypto.get("hash", "sha256"))
    if cipher not in CIPHERS:
        raise SpecError(f"{PILLAR}:crypto:cipher {cipher!r} is not one of {', '.join(CIPHERS)}")
    if digest not in HASHES:
        raise SpecError(f"{PILLAR}:crypto:hash {digest!r} is not one of {', '.join(HASHES)}")
    if cipher != "none" and digest == "none":
        raise SpecError(f"{PILLAR}:crypto: cipher {cipher} needs a hash (Corosync refuses a cipher without one)")

    nodes = _nodes(data.get("nodes"), len(links))
    quorum = _options(data.get("quorum"), QUORUM_KEYS, f"{PILLAR}:quorum", _quorum_value)
    options = dict(quorum)
    if options.get("two_node") == "1" and len(nodes) != 2:
        raise SpecError(f"{PILLAR}:quorum:two_node is for a cluster of two nodes, {len(nodes)} declared")
    if "auto_tie_breaker_node" in options and options.get("auto_tie_breaker") != "1":
        raise SpecError(f"{PILLAR}:quorum:auto_tie_breaker_node needs auto_tie_breaker: true")
    breaker = options.get("auto_tie_breaker_node", "lowest")
    if breaker not in ("lowest", "highest"):
        unknown = [i for i in breaker.split() if int(i) not in {n.nodeid for n in nodes}]
        if unknown:
            raise SpecError(
                f"{PILLAR}:quorum:auto_tie_breaker_node: nodeid {', '.join(unknown)} is not one of the declared nodes"
            )

    authkeys = _mapping(data.get("authkeys"), f"{PILLAR}:authkeys")
    _unknown(authkeys, AUTHKEY_KEYS, f"{PILLAR}:authkeys")
    corosync_key = keys.decode(authkeys["corosync"], "corosync") if "corosync" in authkeys else None
    pacemaker_key = keys.decode(authkeys["pacemaker"], "pacemaker") if "pacemaker" in authkeys else None
    if cipher != "none" and corosync_key is None:
        raise SpecError(
            f"{PILLAR}:authkeys:corosync is missing (crypto cipher {cipher} needs a key): give it in pillar, "
            "or make it on the master (salt-run pcmk.cluster_keys) and serve it with the pcmk_cluster_keys ext_pillar"
        )

    timeout = _int(data.get("timeout", 300), f"{PILLAR}:timeout", 1, 3600)
    logging = _options(data.get("logging"), LOGGING_KEYS, f"{PILLAR}:logging", _logging_value) or DEFAULT_LOGGING
    return ClusterSpec(
        name=name,
        nodes=nodes,
        transport=transport,
        links=links,
        crypto_cipher=cipher,
        crypto_hash=digest,
        totem=_options(data.get("totem"), TOTEM_KEYS, f"{PILLAR}:totem", _totem_value),
        quorum=quorum,
        logging=logging,
        corosync_authkey=corosync_key,
        pacemaker_authkey=pacemaker_key,
        timeout=timeout,
    )


def _nodes(raw, link_count):
    if not isinstance(raw, list) or not raw:
        raise SpecError(f"{PILLAR}:nodes must be a non-empty list of nodes, got {raw!r}")
    nodes: list[NodeDecl] = []
    by_id: dict = {}
    by_name: dict = {}
    by_minion: dict[str, int] = {}
    by_addr: dict[str, int] = {}
    for i, entry in enumerate(raw):
        where = f"{PILLAR}:nodes[{i}]"
        entry = _mapping(entry, where)
        _unknown(entry, NODE_KEYS, where)
        for key in ("name", "nodeid", "addrs"):
            if key not in entry:
                raise SpecError(f"{where}:{key} is missing")
        name = _word(entry["name"], f"{where}:name")
        nodeid = _int(entry["nodeid"], f"{where}:nodeid", 1, 2**31 - 1)
        addrs = entry["addrs"]
        if isinstance(addrs, str):
            addrs = [addrs]
        if not isinstance(addrs, list):
            raise SpecError(f"{where}:addrs must be a list of addresses (one per link), got {addrs!r}")
        if len(addrs) != link_count:
            raise SpecError(
                f"{where}:addrs: node {name} has {len(addrs)} address(es) for {link_count} link(s) "
                "(one address per link)"
            )
        addrs = tuple(_address(a, f"{where}:addrs[{j}]") for j, a in enumerate(addrs))
        minion = _word(entry["minion"], f"{where}:minion", _HOST) if entry.get("minion") is not None else None
        for seen, key, label in ((by_id, nodeid, "nodeid"), (by_name, name, "name")):
            if key in seen:
                raise SpecError(f"{where}:{label} {key} is already used by {PILLAR}:nodes[{seen[key]}]")
            seen[key] = i
        if minion is not None:
            if minion in by_minion:
                raise SpecError(f"{where}:minion {minion} is already node {PILLAR}:nodes[{by_minion[minion]}]")
            by_minion[minion] = i
        for j, addr in enumerate(addrs):
            if addr in by_addr:
                raise SpecError(f"{where}:addrs[{j}] {addr} is already an address of {PILLAR}:nodes[{by_addr[addr]}]")
            by_addr[addr] = i
        nodes.append(NodeDecl(name, nodeid, addrs, minion))
    return tuple(nodes)


# -- spec -> corosync.conf ----------------------------------------------------------------------------------
def render(spec: ClusterSpec) -> str:
    """corosync.conf for ``spec``: the same text for the same spec, on every controller."""
    out = [HEADER, "totem {\n", "    version: 2\n", f"    cluster_name: {spec.name}\n"]
    out.append(f"    transport: {spec.transport}\n")
    out.append(f"    crypto_cipher: {spec.crypto_cipher}\n")
    out.append(f"    crypto_hash: {spec.crypto_hash}\n")
    out += [f"    {k}: {v}\n" for k, v in spec.totem]
    for number, link in enumerate(spec.links):
        if link:
            out += ["    interface {\n", f"        linknumber: {number}\n"]
            out += [f"        {k}: {v}\n" for k, v in link]
            out.append("    }\n")
    out += ["}\n", "\n", "nodelist {\n"]
    for node in spec.nodes:
        out += ["    node {\n", f"        name: {node.name}\n", f"        nodeid: {node.nodeid}\n"]
        out += [f"        ring{i}_addr: {addr}\n" for i, addr in enumerate(node.addrs)]
        out.append("    }\n")
    out += ["}\n", "\n", "quorum {\n", "    provider: corosync_votequorum\n"]
    out += [f"    {k}: {v}\n" for k, v in spec.quorum]
    out += ["}\n", "\n", "logging {\n"]
    out += [f"    {k}: {v}\n" for k, v in spec.logging]
    out.append("}\n")
    return "".join(out)


# -- corosync.conf -> dicts -----------------------------------------------------------------------------------
def parse(text: str, source: str = "corosync.conf") -> dict:
    """Sections and ``key: value`` pairs as nested dicts; a repeated section (``node``) is a list of dicts."""
    root: dict = {}
    stack = [root]
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("{"):
            name = line[:-1].strip()
            section: dict = {}
            stack[-1].setdefault(name, []).append(section)
            stack.append(section)
        elif line == "}":
            if len(stack) == 1:
                raise SpecError(f"{source}:{number}: '}}' closes no section")
            stack.pop()
        elif ":" in line:
            key, value = line.split(":", 1)
            stack[-1][key.strip()] = value.strip()
        else:
            raise SpecError(f"{source}:{number}: neither a section nor 'key: value': {line!r}")
    if len(stack) != 1:
        raise SpecError(f"{source}: a section is not closed")
    return root


@dataclass(frozen=True)
class Identity:
    """What must not change under a running cluster."""

    cluster_name: str | None
    transport: str | None
    nodes: dict  # nodeid -> name


def identity(parsed: dict) -> Identity:
    totem = (parsed.get("totem") or [{}])[0]
    nodes = {}
    for nodelist in parsed.get("nodelist") or []:
        for node in nodelist.get("node") or []:
            if "nodeid" in node:
                nodes[int(node["nodeid"])] = node.get("name") or node.get("ring0_addr")
    return Identity(totem.get("cluster_name"), totem.get("transport", "knet"), nodes)


def parse_cmap(text: str) -> dict[str, str]:
    """``corosync-cmapctl`` output (``key (type) = value``) as a dict."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition(" = ")
        if sep:
            values[key.split(" (", 1)[0].strip()] = value.strip()
    return values


def identity_from_cmap(cmap: dict[str, str]) -> Identity:
    nodes: dict[str, dict] = {}
    for key, value in cmap.items():
        parts = key.split(".")
        if len(parts) == 4 and parts[0] == "nodelist" and parts[1] == "node":
            nodes.setdefault(parts[2], {})[parts[3]] = value
    by_id = {int(n["nodeid"]): n.get("name") or n.get("ring0_addr") for n in nodes.values() if "nodeid" in n}
    return Identity(cmap.get("totem.cluster_name"), cmap.get("totem.transport", "knet"), by_id)


def joined_members(cmap: dict[str, str]) -> set[int]:
    """Node ids Corosync lists as joined (``runtime.members.<id>.status = joined``)."""
    joined = set()
    for key, value in cmap.items():
        parts = key.split(".")
        if len(parts) == 4 and parts[:2] == ["runtime", "members"] and parts[3] == "status" and value == "joined":
            joined.add(int(parts[2]))
    return joined


def refusals(spec: ClusterSpec, running: Identity, joined: set[int], quorate: bool = True) -> list[str]:
    """Why writing ``spec`` would break the cluster that runs ``running`` with ``joined`` members; empty if not.

    The quorum check only holds a change against a partition that has quorum now (``quorate``):
    one that lacks it already does not lose it by the change.
    """
    problems = []
    if running.cluster_name and running.cluster_name != spec.name:
        problems.append(
            f"{PILLAR}:name {spec.name!r}: the running cluster is {running.cluster_name!r} "
            "(a cluster is not renamed while Corosync runs)"
        )
    if running.transport and running.transport != spec.transport:
        problems.append(
            f"{PILLAR}:transport {spec.transport!r}: the running cluster uses {running.transport!r} "
            "(the transport is not changed while Corosync runs)"
        )
    for node in spec.nodes:
        name = running.nodes.get(node.nodeid)
        if name is not None and name != node.name:
            problems.append(
                f"{PILLAR}:nodes: nodeid {node.nodeid} is node {name} in the running cluster, "
                f"not {node.name} (a node id is not reused for another node)"
            )
        ids = [i for i, n in running.nodes.items() if n == node.name and i != node.nodeid]
        if ids:
            problems.append(
                f"{PILLAR}:nodes: node {node.name} has nodeid {ids[0]} in the running cluster, "
                f"not {node.nodeid} (a node name is not reused with another id)"
            )
    if joined and quorate:
        declared = {n.nodeid for n in spec.nodes}
        votes = len(joined & declared)
        needed = spec.votes_needed()
        if not spec.quorate_with(joined):
            problems.append(
                f"{PILLAR}:nodes/quorum: the running members in the new configuration "
                f"({votes} of {len(spec.nodes)}: ids {', '.join(map(str, sorted(joined & declared))) or 'none'}) "
                f"have fewer than the {needed} votes it needs"
                + (
                    " and not the tie-breaker's half (auto_tie_breaker)"
                    if spec.quorum_options.get("auto_tie_breaker") == "1"
                    else ""
                )
                + ": the cluster would lose quorum at once"
            )
    return problems
