"""The one way to read the CIB and the one way to write it.

Reading is ``cibadmin --query`` (which honours ``CIB_file``). Writing computes
a *versioned* patch with ``crm_diff`` between the CIB as read and a candidate
whose version is moved on (Pacemaker then bumps the epoch once), and sends it with ``cibadmin --patch``. Pacemaker
refuses such a patch when the CIB moved since the read (exit 103), which is
what makes concurrent writers safe: we re-read, recompute and retry, and never
overwrite another writer's change. Unversioned patches, ``--replace -o
configuration`` and ``--modify`` are accepted even when stale, so they are
never used.

The status section is not patched: a ticket's state is changed with
Pacemaker's own tool for it (:func:`change_status`, ``crm_ticket``).
"""

import contextlib
import copy
import fcntl
import logging
import os
import random
import tempfile
import time

from lxml import etree

from saltext.pcmk.utils.errors import (
    CibConflict,
    CibFileError,
    CibWriteRetriesExhausted,
    NoQuorum,
    NotXml,
    ToolError,
)

log = logging.getLogger(__name__)

PARSER = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)

SECTION_PATHS = {
    "crm_config": "configuration/crm_config",
    "nodes": "configuration/nodes",
    "resources": "configuration/resources",
    "constraints": "configuration/constraints",
    "rsc_defaults": "configuration/rsc_defaults",
    "op_defaults": "configuration/op_defaults",
    "fencing-topology": "configuration/fencing-topology",
}
# Order Pacemaker's schema expects inside <configuration>.
SECTION_ORDER = [
    "crm_config",
    "rsc_defaults",
    "op_defaults",
    "nodes",
    "resources",
    "constraints",
    "fencing-topology",
    "acls",
    "tags",
    "alerts",
]


def parse(text, what="the XML"):
    """Parse CIB (or any Pacemaker) XML text into an element; NotXml names ``what`` it was."""
    if isinstance(text, str):
        text = text.encode()
    try:
        return etree.fromstring(text, PARSER)
    except etree.XMLSyntaxError as exc:
        raise NotXml(f"{what} is not XML ({exc})") from exc


def read_file(path):
    """The CIB in the file at ``path``; CibFileError names the file and what is wrong with it."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as handle:
            text = handle.read()
    except OSError as exc:
        raise CibFileError(f"CIB file {path}: {_cause(exc)}") from exc
    if not text.strip():
        raise CibFileError(f"CIB file {path} is empty")
    try:
        return Cib(parse(text, f"CIB file {path}"))
    except NotXml as exc:
        raise CibFileError(str(exc)) from exc


def _cause(exc):
    if isinstance(exc, FileNotFoundError):
        return "does not exist"
    if isinstance(exc, IsADirectoryError):
        return "is a directory, not a file"
    return exc.strerror or str(exc)


SCHEMA_DIR = os.environ.get("PCMK_schema_directory", "/usr/share/pacemaker")  # noqa: SIM112 (Pacemaker's name)


def known_schema(validate_with):
    """Whether Pacemaker here knows the schema a CIB's ``validate-with`` names."""
    if validate_with in ("none", "pacemaker-next"):
        return True
    return os.path.exists(os.path.join(SCHEMA_DIR, f"{validate_with}.rng"))


def check_cib_file(runner, *, writing=False):
    """Before any tool runs on an offline CIB: the file is there, a CIB Pacemaker
    here can read and, when ``writing``, one it can change.

    Pacemaker's own tools say "Could not connect to the CIB: No such device or
    address" for a missing file and "Update does not conform to the configured
    schema" for an empty, garbage or too new one, naming neither.
    """
    if not runner.offline:
        return
    path = runner.cib_file
    if os.path.isdir(path):
        raise CibFileError(f"CIB file {path} is a directory, not a file")
    cib = read_file(path)
    if not known_schema(cib.validate_with):
        raise CibFileError(
            f"CIB file {path}: validate-with={cib.validate_with!r} names a schema Pacemaker here does not have"
            f" (no {cib.validate_with}.rng in {SCHEMA_DIR})"
        )
    if writing:
        check_writable(path)


_FS_IMMUTABLE_FL = 0x00000010
_FS_APPEND_FL = 0x00000020
_FS_IOC_GETFLAGS = 0x80086601


def check_writable(path):
    """Refuse, naming the file, a CIB file Pacemaker's file backend could not rewrite."""
    try:
        import array  # pylint: disable=import-outside-toplevel

        fd = os.open(path, os.O_RDONLY)
        try:
            buf = array.array("l", [0])
            fcntl.ioctl(fd, _FS_IOC_GETFLAGS, buf, True)
            flags = buf[0]
        finally:
            os.close(fd)
    except OSError:
        flags = 0  # a file system without inode flags
    if flags & _FS_IMMUTABLE_FL:
        raise CibFileError(f"CIB file {path} is immutable (chattr +i); it cannot be written")
    if flags & _FS_APPEND_FL:
        raise CibFileError(f"CIB file {path} is append-only (chattr +a); it cannot be rewritten")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.access(path, os.W_OK):
        raise CibFileError(f"CIB file {path} is not writable (read-only for this user, or a read-only file system)")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise CibFileError(f"CIB file {path}: its directory {directory} is not writable")


class Cib:
    """A CIB document as read at one version.

    Mutating methods work on the document in place; callers change a
    :meth:`copy` and keep the original to diff against.
    """

    def __init__(self, root):
        if root.tag != "cib":
            raise NotXml(f"not a CIB document: root element is <{root.tag}>")
        self.root = root
        self._by_id = None  # id -> configuration elements, made on first lookup (see with_id)
        self._configuration = None
        self._taken = None  # every id in the document, made on first unique_id (see there)
        # Set by the session that applies specs to this document and notes what each touched:
        # only then is the id list trusted to be complete (unique_id, known_with_id).
        self.keeps_ids = False
        self.indexes: dict = {}  # a spec kind's own index of this document (constraints by what they constrain)

    @classmethod
    def from_text(cls, text):
        return cls(parse(text))

    def copy(self):
        return Cib(copy.deepcopy(self.root))

    def reset_to(self, other):
        """Make this document a fresh copy of ``other`` (a candidate starting over)."""
        self.root = copy.deepcopy(other.root)
        self._by_id = self._taken = None
        self.indexes = {}

    def to_text(self):
        return etree.tostring(self.root, pretty_print=True, encoding="unicode")

    # -- version and health -------------------------------------------------
    @property
    def version(self):
        """(admin_epoch, epoch, num_updates) as ints."""
        return tuple(int(self.root.get(name, "0")) for name in ("admin_epoch", "epoch", "num_updates"))

    @property
    def validate_with(self):
        return self.root.get("validate-with", "pacemaker-3.0")

    @property
    def has_quorum(self):
        """What the DC last recorded; None for an offline file without it."""
        value = self.root.get("have-quorum")
        return None if value is None else value in ("1", "true")

    @property
    def dc_uuid(self):
        return self.root.get("dc-uuid")

    # -- navigation -----------------------------------------------------------
    @property
    def configuration(self):
        found = self._configuration
        if found is None or found.getparent() is not self.root:
            found = self._configuration = self.root.find("configuration")
        return found

    def section(self, name, create=False):
        """The <configuration> child called ``name``; created in schema order."""
        config = self.configuration
        found = config.find(name)
        if found is not None or not create:
            return found
        element = etree.Element(name)
        later = SECTION_ORDER[SECTION_ORDER.index(name) + 1 :]
        for index, child in enumerate(config):
            if child.tag in later:
                config.insert(index, element)
                break
        else:
            config.append(element)
        return element

    def by_id(self, ident, scope=None):
        """The configuration element whose id is ``ident``, or None."""
        if scope is not None:
            found = scope.xpath(".//*[@id=$ident]", ident=ident)
            return found[0] if found else None
        found = self.with_id(ident)
        return found[0] if found else None

    def with_id(self, ident):
        """Every configuration element whose id is ``ident``, in document order.

        Specs change the document directly, so the index this reads is only a
        hint: a hit is checked (same id, still in this document) and a miss is
        looked up in the document. Finding what is there, the common case of a
        run that changes little, costs no scan of a large CIB.
        """
        if self._by_id is None:
            self._by_id = {}
            for element in self.configuration.xpath(".//*[@id]"):
                self._by_id.setdefault(element.get("id"), []).append(element)
        hinted = self._by_id.get(ident)
        if hinted and all(e.get("id") == ident and self._holds(e) for e in hinted):
            return list(hinted)
        found = self.configuration.xpath(".//*[@id=$ident]", ident=ident)
        self._by_id[ident] = found
        return list(found)

    def _holds(self, element):
        """Whether ``element`` is still in this document (lxml keeps a removed one in its document)."""
        ancestors = list(element.iterancestors())
        return (ancestors[-1] if ancestors else element) is self.root

    def unique_id(self, wanted):
        """``wanted`` if no element has that id yet, else ``wanted-1``, ``-2`` ...

        While a session keeps the ids (:attr:`keeps_ids`), the ids in the
        document are listed once (one scan, not one per new element: a run
        creating thousands of objects would scan thousands of times); every
        id handed out here is added, and :meth:`note_ids` adds those of
        elements made otherwise. Otherwise the document is searched. An id made without either, in the
        same change, could be handed out again: the schema check every write
        passes refuses a duplicate id, so that could refuse, never corrupt.
        """
        if not self.keeps_ids:
            candidate, n = wanted, 0
            while self.root.xpath("boolean(//*[@id=$i])", i=candidate):
                n += 1
                candidate = f"{wanted}-{n}"
            return candidate
        if self._taken is None:
            self._taken = set(self.root.xpath("//@id"))
        candidate, n = wanted, 0
        while candidate in self._taken:
            n += 1
            candidate = f"{wanted}-{n}"
        self._taken.add(candidate)
        return candidate

    def note_ids(self, elements):
        """Elements made or moved outside :meth:`unique_id`: their ids (and those of
        everything in them) are taken, and :meth:`with_id` finds them without a scan."""
        for element in elements:
            for inner in element.iter(etree.Element):
                ident = inner.get("id")
                if ident is None:
                    continue
                if self._taken is not None:
                    self._taken.add(ident)
                if self._by_id is not None:
                    known = [e for e in self._by_id.get(ident, ()) if e.get("id") == ident and self._holds(e)]
                    if not any(e is inner for e in known):
                        known.append(inner)
                    self._by_id[ident] = known

    def known_with_id(self, ident):
        """:meth:`with_id` for a spec looking up its own id before it changes anything.

        The session keeps the id list complete between specs (it notes what
        each spec touched, or forgets the list when a spec cannot tell), so an
        id the list lacks is not in the document: no scan of a large CIB for
        every new object.
        """
        if not self.keeps_ids:
            return self.with_id(ident)
        if self._taken is None:
            self._taken = set(self.root.xpath("//@id"))
        if ident not in self._taken:
            return []
        return self.with_id(ident)

    def forget_ids(self):
        """The document changed in ways nobody listed: list its ids again when asked."""
        self._taken = None

    def resource(self, ident):
        """A resource element (primitive, group, clone, master, bundle) by id."""
        found = self.root.xpath(
            "configuration/resources//*[self::primitive or self::group or self::clone or self::master or self::bundle][@id=$i]",
            i=ident,
        )
        return found[0] if found else None

    def resource_ids(self):
        return set(
            self.root.xpath(
                "configuration/resources//*[self::primitive or self::group or self::clone or self::master or self::bundle]/@id"
            )
        )

    def tag_ids(self):
        """Ids of ``<tag>``s: a constraint may name one instead of a resource."""
        return set(self.root.xpath("configuration/tags/tag/@id"))

    def template_ids(self):
        """Ids of resource ``<template>``s: a constraint may name one instead of a
        resource, and then applies to every primitive made from it."""
        return set(self.root.xpath("configuration/resources/template/@id"))

    def node_names(self):
        return [n.get("uname") for n in self.root.iterfind("configuration/nodes/node") if n.get("uname")]

    def same_configuration(self, other):
        return etree.tostring(self.configuration, method="c14n") == etree.tostring(other.configuration, method="c14n")

    def mark_changed(self):
        """Make the candidate's version differ from the read one, as a versioned patch needs.

        Only ``num_updates`` moves: Pacemaker (the CIB manager, and the file
        backend alike) bumps the epoch itself when a patch changes the
        configuration, so bumping it here too made every write cost two
        epochs (measured on 2.1.5: 0.3.0 -> 0.5.0). The patch still names the
        version it was made from, which is what makes a stale one refused.
        """
        self.root.set("num_updates", str(self.version[2] + 1))


@contextlib.contextmanager
def _offline_lock(runner, exclusive=True):
    """Serialise our writers of one CIB file, and keep readers off a half-written one.

    Pacemaker's file backend reads, patches and rewrites the file without a
    lock: two cibadmin processes patching at once both see the old version
    and one change is lost, and a reader can see a partly written file. A live
    cluster's CIB manager has no such gap.
    """
    if not runner.offline:
        yield
        return
    directory = os.path.dirname(os.path.abspath(runner.cib_file))
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError as exc:
        raise CibFileError(f"CIB file {runner.cib_file}: its directory cannot be opened ({exc.strerror})") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def read(runner):
    """Read the CIB the runner points at (live cluster or ``CIB_file``)."""
    # Checked under the lock: a writer holding it may be rewriting the file.
    with _offline_lock(runner, exclusive=False):
        check_cib_file(runner)
        proc = runner.run(["cibadmin", "--query"])
    return Cib(parse(proc.stdout, "cibadmin --query's output"))


def query(runner, xpath):
    """The one element at ``xpath`` as the CIB holds it now, or None when there is none.

    ``xpath`` is a fixed path of ours (``/cib/status/tickets``), never built
    from input; pick what you need out of the element with lxml.
    """
    with _offline_lock(runner, exclusive=False):
        # No match: exit 105 (ENXIO).
        proc = runner.run(["cibadmin", "--query", "--xpath", xpath], ok_codes=(0, 105))
    return parse(proc.stdout) if proc.returncode == 0 and proc.stdout.strip() else None


def change_status(runner, argv):
    """Run the Pacemaker tool that owns a part of the status section (``crm_ticket``).

    The status section is the cluster's record of what is, not configuration:
    it is not patched like the configuration (docs/design.md says why), but
    changed by Pacemaker's own tool for it, with the checks every write here
    has: quorum first, and on a CIB file the lock our writers share.
    """
    check_quorum(runner)
    with _offline_lock(runner):
        check_cib_file(runner, writing=True)
        return runner.run(argv)


def check_quorum(runner):
    """Refuse to write from a partition without quorum.

    Pacemaker accepts such writes, and when the partition heals the majority's
    newer CIB wins, so the change would silently disappear.
    """
    if runner.offline:
        return
    try:
        # Without quorum crm_node prints 0 and exits 106 ("Quorum required").
        proc = runner.run(["crm_node", "--quorum"], ok_codes=(0, 106))
    except ToolError as exc:
        raise NoQuorum(f"cannot tell whether this node's partition has quorum: {exc}") from exc
    if proc.stdout.strip() != "1":
        raise NoQuorum(
            "this node's partition has no quorum; refusing to write the CIB (the change could be lost when the partition heals)"
        )


def patch_for(runner, original, candidate):
    """A versioned crm_diff patch turning ``original`` into ``candidate``.

    The candidate's version must differ from the original's (see
    :meth:`Cib.mark_changed`), or Pacemaker refuses the patch as older than
    the CIB (exit 103). Files are private (0600) because the
    documents may hold secret parameters.
    """
    with tempfile.TemporaryDirectory(prefix="pcmk-patch-") as tmp:
        old_path = os.path.join(tmp, "original.xml")
        new_path = os.path.join(tmp, "candidate.xml")
        for path, cib in ((old_path, original), (new_path, candidate)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(cib.to_text())
        # crm_diff exits 1 when the documents differ, which is the point here.
        proc = runner.run(["crm_diff", "--original", old_path, "--new", new_path], ok_codes=(0, 1))
    return proc.stdout


def apply_patch(runner, patch_text):
    with _offline_lock(runner):
        check_cib_file(runner, writing=True)
        runner.run(["cibadmin", "--patch", "--xml-pipe"], input=patch_text)


# Attempts at one write, and the back-off between them: exponential with full
# jitter, capped. A writer gives up after WRITE_ATTEMPTS attempts or once
# WRITE_PATIENCE seconds have passed, whichever comes first (measured with
# bench/concurrency.py, 3 controllers x 20 concurrent runs: 6 attempts at
# 0.05-0.25 s x attempt gave up often, 20 attempts still once in 60 runs; an
# unlucky writer loses to the other nodes' writers again and again while its
# own checks run).
WRITE_ATTEMPTS = 200
WRITE_PATIENCE = 300.0
BACKOFF_FIRST = 0.1
BACKOFF_CAP = 3.0
# Writers on one node take turns (see _node_turn); a writer waits at most this long for its turn.
TURN_WAIT = 120.0
TURN_LOCK = "/run/saltext-pcmk/cib-write.lock"


def backoff(attempt):
    """Seconds to wait after the ``attempt``-th stale patch."""
    return random.uniform(0, min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** (attempt - 1)))


@contextlib.contextmanager
def _node_turn(runner, path=TURN_LOCK, wait=TURN_WAIT):
    """Let the writers of one node (concurrent state runs of a controller) take turns.

    Only for throughput: each attempt (read, compute, check, patch) runs while
    holding an advisory lock, so a node's writers stop refusing each other's
    patches as stale; writers on other nodes still race, and the versioned
    patch keeps that safe. A writer that cannot get its turn within ``wait``
    seconds, or cannot make the lock file, goes ahead without it.
    """
    if runner.offline:
        yield
        return
    fd = None
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        log.debug("no turn-taking between this node's CIB writers (%s: %s)", path, exc.strerror)
    if fd is not None:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    log.info("waited %.0fs for this node's other CIB writers; writing alongside them", wait)
                    os.close(fd)
                    fd = None
                    break
                time.sleep(0.05)
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)  # closing releases the lock


def _with_configuration(original, configuration):
    """A copy of ``original`` whose configuration section is a copy of ``configuration``."""
    candidate = original.copy()
    old = candidate.configuration
    old.getparent().replace(old, copy.deepcopy(configuration))
    return candidate


def write(
    runner,
    compute,
    *,
    validate=None,
    retries=WRITE_ATTEMPTS,
    patience=WRITE_PATIENCE,
    base=None,
    sleep=time.sleep,
    turn=_node_turn,
    clock=time.monotonic,
):
    """Read, let ``compute(original, candidate)`` change the copy, validate, patch.

    ``compute`` is called with a fresh read and its copy at every attempt and
    may return a value (for example a description of the changes); it raises
    to abort, leaving the CIB untouched.
    Returns ``(result_of_compute, written_cib_or_None, last_read)``: None
    when the candidate equals what was read, so nothing was written;
    ``last_read`` is the CIB the final attempt started from.

    ``base`` is a CIB already read this run; it is used for the first attempt
    only, every retry reads anew.

    A patch refused as stale is retried (at most ``retries`` attempts in all
    and no new attempt after ``patience`` seconds, each stale one logged at
    INFO as ``CIB changed under us``). When only the
    status moved since the refused attempt's read (an operation result, a
    transient attribute: the configuration is the same), the change already
    computed and checked is patched onto the fresh read as it is; otherwise
    ``compute`` and ``validate`` run again on the fresh read.
    """
    refused = None  # (original, candidate, outcome) of the last attempt refused as stale
    started = clock()
    attempt = 0
    while attempt < retries and (attempt == 0 or clock() - started < patience):
        attempt += 1
        with turn(runner):
            original = base if (base is not None and attempt == 1) else read(runner)
            if refused is not None and original.same_configuration(refused[0]):
                outcome = refused[2]
                candidate = _with_configuration(original, refused[1].configuration)
            else:
                candidate = original.copy()
                outcome = compute(original, candidate)
                if original.same_configuration(candidate):
                    return outcome, None, original
                if validate is not None:
                    validate(original, candidate)
            check_quorum(runner)
            candidate.mark_changed()
            patch = patch_for(runner, original, candidate)
            try:
                apply_patch(runner, patch)
            except CibConflict as exc:
                refused = (original, candidate, outcome)
                error = exc
            else:
                return outcome, candidate, original
        delay = backoff(attempt)
        log.info("CIB changed under us (attempt %d/%d: %s); retrying in %.2fs", attempt, retries, error, delay)
        sleep(delay)
    raise CibWriteRetriesExhausted(
        f"the CIB kept changing while writing; gave up after {attempt} attempts in {clock() - started:.0f}s"
        " (other writers are busy, try again)"
    )
