#!/usr/bin/env python3
# ACRN's own scenario validator (misc/config_tools/scenario_config/validator.py, copied unchanged under
# acrn-v3.3/config_tools), run the way validator.py's main() runs it: config.xsd sliced by VM type, the
# scenario's defaults populated, the scenario checked against config.xsd (syntax), then scenario + board
# merged into one <acrn-config> and checked against datachecks.xsd (XSD 1.1 assertions).
#
# Output is JSON on stdout, one entry per scenario:
#   {"board": ..., "scenario": ..., "syntax": [{"path", "message"}],
#    "checks": [{"check": "cpu_assignment.xsd#8", "severity", "message", "paths"}]}
# where "check" names the checks/*.xsd file and the 1-based position of the xs:assert in it.
#
# Usage: validate.py BOARD.xml SCENARIO.xml [SCENARIO.xml ...]
#        validate.py --samples        (every scenario XML under acrn-v3.3/config_tools/data, symlinks once)
# Needs Debian's python3-xmlschema (XSD 1.1) and python3-lxml (ACRN loads its schemas with lxml's XInclude).
import json
import os
import re
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
ACRN = os.path.join(HERE, "acrn-v3.3", "config_tools")
SCHEMA_DIR = os.path.join(ACRN, "schema")
DATA_DIR = os.path.join(ACRN, "data")

sys.path.insert(0, os.path.join(ACRN, "scenario_config"))
sys.path.insert(0, os.path.join(ACRN, "library"))

# library/rdt.py needs only get_node from acrn_config_utilities; that module drags in defusedxml and a
# build environment, so give rdt.py ACRN's get_node (library/acrn_config_utilities.py, unchanged).
_utilities = types.ModuleType("acrn_config_utilities")


def get_node(xpath, etree):
    result = etree.xpath(f"{xpath}")
    assert len(result) <= 1, f"Internal error: multiple element nodes are found for {xpath}"
    return result[0] if len(result) == 1 else None


_utilities.get_node = get_node
sys.modules["acrn_config_utilities"] = _utilities

import logging  # noqa: E402

logging.disable(logging.CRITICAL)  # validator.py logs every finding; this script prints JSON instead.

import validator  # noqa: E402  (ACRN's validator.py; importing it loads elementpath_overlay)
from lxml_loader import LXMLLoadStage  # noqa: E402
from pipeline import PipelineEngine, PipelineObject  # noqa: E402
from schema_slicer import SlicingSchemaByVMTypeStage  # noqa: E402
from default_populator import DefaultValuePopulatingStage  # noqa: E402


def normalize(test):
    return re.sub(r"\s+", " ", test).strip()


def check_ids():
    """Maps each assertion's test expression to '<file>#<n>' so a finding names the check it comes from."""
    ids = {}
    checks_dir = os.path.join(SCHEMA_DIR, "checks")
    for name in sorted(os.listdir(checks_dir)):
        if not name.endswith(".xsd"):
            continue
        with open(os.path.join(checks_dir, name), encoding="utf-8") as f:
            text = f.read()
        for n, match in enumerate(re.finditer(r'<xs:assert\s+test="([^"]*)"', text), start=1):
            test = match.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
            test = test.replace("&quot;", '"').replace("&apos;", "'")
            ids[normalize(test)] = f"{name}#{n}"
    return ids


CHECK_IDS = check_ids()


def build_validator():
    obj = PipelineObject(
        schema_path=os.path.join(SCHEMA_DIR, "config.xsd"),
        datachecks_path=os.path.join(SCHEMA_DIR, "datachecks.xsd"),
    )
    pipeline = PipelineEngine(["schema_path", "datachecks_path"])
    pipeline.add_stages(
        [
            LXMLLoadStage("schema"),
            LXMLLoadStage("datachecks"),
            SlicingSchemaByVMTypeStage(),
            validator.ValidatorConstructionStage(),
        ]
    )
    pipeline.run(obj)
    return obj


def validate(obj, board_path, scenario_path):
    obj.set("board_path", board_path)
    obj.set("scenario_path", scenario_path)
    pipeline = PipelineEngine(["board_path", "scenario_path", "schema_etree", "validator"])
    pipeline.add_stages(
        [
            LXMLLoadStage("board"),
            LXMLLoadStage("scenario"),
            DefaultValuePopulatingStage(),
        ]
    )
    pipeline.run(obj)
    scenario_validator = obj.get("validator")
    board_etree = obj.consume("board_etree")
    scenario_etree = obj.consume("scenario_etree")

    syntax = [
        {"path": e["paths"][0], "message": e["message"]}
        for e in scenario_validator.check_syntax(scenario_etree)
    ]
    # check_semantics as validator.py does it, keeping the assertion behind each finding.
    checks = []
    from copy import copy

    unified = copy(scenario_etree.getroot())
    parent_map = {c: p for p in unified.iter() for c in p}
    unified.extend(board_etree.getroot())
    for error in scenario_validator.datachecks.iter_errors(unified):
        formatted = validator.ScenarioValidator.format_error(unified, parent_map, error)
        test = getattr(error.validator, "path", "")
        checks.append(
            {
                "check": CHECK_IDS.get(normalize(test), "unknown"),
                "severity": formatted["severity"],
                "message": formatted["message"],
                "paths": formatted["paths"],
            }
        )
    checks.sort(key=lambda c: (c["check"], c["message"]))
    return {"syntax": syntax, "checks": checks}


def samples():
    """(board, scenario) pairs: every XML beside a board XML in data/<board>/ is a scenario for that board."""
    pairs = []
    for board in sorted(os.listdir(DATA_DIR)):
        board_xml = os.path.join(DATA_DIR, board, f"{board}.xml")
        if not os.path.isfile(board_xml):
            continue
        for f in sorted(os.listdir(os.path.join(DATA_DIR, board))):
            path = os.path.join(DATA_DIR, board, f)
            # Some samples are symlinks to others (hybrid.xml -> hybrid_launch_2user_vm.xml): check each file once.
            if f.endswith(".xml") and f != f"{board}.xml" and not os.path.islink(path):
                pairs.append((board_xml, os.path.join(DATA_DIR, board, f)))
    return pairs


def main(argv):
    if argv == ["--samples"]:
        pairs = samples()
    elif len(argv) >= 2:
        pairs = [(argv[0], s) for s in argv[1:]]
    else:
        print(__doc__ or "usage: validate.py BOARD.xml SCENARIO.xml... | --samples", file=sys.stderr)
        return 2
    obj = build_validator()
    results = []
    for board_xml, scenario_xml in pairs:
        result = validate(obj, board_xml, scenario_xml)
        rel = lambda p: os.path.relpath(p, DATA_DIR) if p.startswith(DATA_DIR) else p  # noqa: E731
        results.append({"board": rel(board_xml), "scenario": rel(scenario_xml), **result})
    json.dump(results, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
