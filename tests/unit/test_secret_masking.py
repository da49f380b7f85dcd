"""The one masking rule (utils/cib/diff.py) on every shape a parameter's key takes."""

from lxml import etree

from saltext.pcmk.utils.cib import diff
from saltext.pcmk.utils.cib.document import Cib
from saltext.pcmk.utils.tools import MASK, Secret, mask

CIB = """<cib><configuration><crm_config/><nodes/><resources>
<primitive id="r" class="ocf" provider="heartbeat" type="Dummy">
  <instance_attributes id="r-ia">
    <nvpair id="r-ia-conn" name="conn" value="S1"/>
    <nvpair id="r-ia-conn2" name="conn" value="S2"/>
    <nvpair id="r-ia-db_password" name="db_password" value="S3"/>
    <nvpair id="r-ia-kept" name="api_token" value="lrm://"/>
    <nvpair id="r-ia-colour" name="colour" value="blue"/>
  </instance_attributes>
  <instance_attributes id="r-ia2"><rule id="r-ia2-rule" score="0">
    <expression id="r-ia2-e" attribute="#uname" operation="eq" value="n1"/></rule>
    <nvpair id="r-ia2-conn" name="conn" value="S4"/>
  </instance_attributes>
</primitive></resources><constraints/></configuration><status/></cib>"""


def cib():
    return Cib(etree.fromstring(CIB))


def test_param_name_reads_every_key_shape():
    assert diff.param_name("params.conn") == "conn"
    assert diff.param_name("params.conn#2") == "conn"
    assert diff.param_name("params[r-ia2].conn") == "conn"
    assert diff.param_name("params score") is None
    assert diff.param_name("meta.conn") is None
    assert diff.param_name("params[r-ia2].rule r-ia2-rule.score") is None


def test_declared_duplicate_rule_based_and_named_secrets_are_masked():
    flat = diff.objects(cib(), {"r": {"conn"}})["resource r"]
    assert flat["params.conn"] == flat["params.conn#2"] == flat["params[r-ia2].conn"] == MASK
    assert flat["params.db_password"] == MASK  # the name says so
    assert flat["params.api_token"] == "lrm://"  # the placeholder is not the secret
    assert flat["params.colour"] == "blue"
    assert "S1" not in repr(diff.objects(cib(), {"r": {"conn"}}))


def test_a_deleted_resource_shows_no_parameter_value():
    after = cib()
    resources = after.root.find("configuration/resources")
    resources.remove(resources[0])
    deleted = diff.compare(cib(), after)["resource r"]["deleted"]
    assert {k: v for k, v in deleted.items() if diff.param_name(k)} == {
        "params.conn": MASK,
        "params.conn#2": MASK,
        "params.db_password": MASK,
        "params.api_token": "lrm://",
        "params.colour": MASK,
        "params[r-ia2].conn": MASK,
    }


def test_a_dropped_parameter_shows_no_old_value_and_a_kept_one_its_change():
    after = cib()
    ia = after.root.find(".//instance_attributes")
    ia.remove(ia.find("nvpair[@name='conn']"))
    ia.find("nvpair[@name='colour']").set("value", "red")
    change = diff.compare(cib(), after, {"r": {"conn"}})["resource r"]
    assert change["removed"]["params.conn#2"] == MASK or change["removed"].get("params.conn") == MASK
    assert change["changed"]["params.colour"] == {"old": "blue", "new": "red"}
    assert "S1" not in repr(change) and "S2" not in repr(change)


def test_masked_cib_masks_values_in_the_xml_and_keeps_the_rest():
    text = diff.masked_cib(cib(), {"r": {"conn"}}).to_text()
    assert not any(s in text for s in ("S1", "S2", "S3", "S4"))
    assert 'value="blue"' in text and 'value="lrm://"' in text


def test_secret_strings_and_the_mask_helper():
    assert repr(Secret("hunter2")) == repr(MASK) and str(Secret("hunter2")) == "hunter2"
    assert mask("a hunter2 b hunter", ["hunter", "hunter2", ""]) == f"a {MASK} b {MASK}"


def test_a_deleted_resource_keeps_its_rules_readable():
    after = cib()
    resources = after.root.find("configuration/resources")
    resources.remove(resources[0])
    deleted = diff.compare(cib(), after)["resource r"]["deleted"]
    assert deleted["params[r-ia2].rule r-ia2-rule.expression r-ia2-e.value"] == "n1"
